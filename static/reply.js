// Inline reply: "Reply" under a post opens the thread's reply form right there, addressed to
// that post, instead of going to the reply page. Without this script the link goes to the
// reply page, which does the same.
(function () {
  "use strict";
  var form = document.querySelector("section.reply-box form");
  if (!form) { return; }
  var home = form.parentNode;
  var marker = document.createComment("reply form");
  home.insertBefore(marker, form);
  var banner = document.createElement("div");
  banner.className = "replying-to";
  var words = document.createElement("h3");
  var cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "link-button";
  cancel.textContent = "Cancel";
  banner.appendChild(words);
  banner.appendChild(cancel);
  var parentField = null;

  function putBack() {
    if (parentField) { parentField.remove(); parentField = null; }
    banner.remove();
    marker.parentNode.insertBefore(form, marker.nextSibling);
  }

  document.querySelectorAll("a[data-inline-reply]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (link.dataset.quote) { return; }  // quoting keeps the reply page (it fills the text)
      event.preventDefault();
      var post = document.getElementById("p" + link.dataset.inlineReply);
      if (!post) { window.location = link.href; return; }
      if (!parentField) {
        parentField = document.createElement("input");
        parentField.type = "hidden";
        parentField.name = "parent";
        form.appendChild(parentField);
      }
      parentField.value = link.dataset.inlineReply;
      words.textContent = "Replying to " + (link.dataset.author || "this post");
      var article = post.querySelector("article") || post;
      article.insertAdjacentElement("afterend", form);
      form.insertBefore(banner, form.firstChild);
      var area = form.querySelector("textarea");
      if (area) { area.focus(); }
    });
  });
  cancel.addEventListener("click", function () {
    putBack();
    var area = form.querySelector("textarea");
    if (area) { area.focus(); }
  });
})();
