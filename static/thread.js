// Long conversations: a button on each post that has replies hides or shows that branch.
// Without this script every reply is simply shown.
(function () {
  "use strict";
  var posts = Array.prototype.slice.call(document.querySelectorAll("ol.posts > li.post"));
  if (!posts.length) { return; }
  function depth(post) {
    var match = /\bdepth-(\d+)/.exec(post.className);
    return match ? Number(match[1]) : 0;
  }
  // A post is hidden when a post above it in its own branch is collapsed.
  function refresh() {
    var hideDeeperThan = Infinity;
    posts.forEach(function (post) {
      var d = depth(post);
      if (d > hideDeeperThan) { post.hidden = true; return; }
      post.hidden = false;
      hideDeeperThan = post.dataset.collapsed === "true" ? d : Infinity;
    });
  }
  posts.forEach(function (post, index) {
    var d = depth(post);
    var replies = 0;
    for (var j = index + 1; j < posts.length && depth(posts[j]) > d; j++) { replies++; }
    if (!replies) { return; }
    var byline = post.querySelector(".post-byline");
    var who = byline ? byline.textContent.replace(/\s+/g, " ").trim() : "";
    var words = replies === 1 ? " reply" : " replies";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link-button branch-toggle";
    var label = document.createElement("span");
    var context = document.createElement("span");
    context.className = "visually-hidden";
    context.textContent = who ? " to the post by " + who : "";
    button.appendChild(label);
    button.appendChild(context);
    function show(expanded) {
      post.dataset.collapsed = expanded ? "false" : "true";
      button.setAttribute("aria-expanded", String(expanded));
      label.textContent = (expanded ? "Hide " : "Show ") + replies + words;
    }
    button.addEventListener("click", function () {
      show(post.dataset.collapsed === "true");
      refresh();
    });
    show(true);
    var actions = post.querySelector(".post-actions");
    var item = document.createElement("li");
    item.appendChild(button);
    if (actions) {
      actions.appendChild(item);
    } else {
      var list = document.createElement("ul");
      list.className = "post-actions inline-list";
      list.appendChild(item);
      post.querySelector("article").appendChild(list);
    }
  });
})();
