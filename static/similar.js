// While a member types a new thread's title, show up to five existing threads that look like
// the same question. Without this script the "Check whether this has been discussed" button
// does the same as a plain page.
(function () {
  "use strict";
  var input = document.querySelector("input[data-similar]");
  var box = document.getElementById("similar");
  if (!input || !box || !window.fetch) { return; }
  var timer = null;
  var last = "";
  function show(results) {
    box.textContent = "";
    if (!results.length) { return; }
    var heading = document.createElement("p");
    heading.className = "similar-heading";
    heading.textContent = "These discussions look similar:";
    var list = document.createElement("ul");
    results.forEach(function (r) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = r.url;
      link.textContent = r.title;  // text, never HTML
      item.appendChild(link);
      list.appendChild(item);
    });
    box.appendChild(heading);
    box.appendChild(list);
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var title = input.value.trim();
      if (title === last) { return; }
      last = title;
      if (title.length < 4) { show([]); return; }
      fetch(input.dataset.similar + "?title=" + encodeURIComponent(title), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : {results: []}; })
        .then(function (data) { if (title === last) { show(data.results || []); } })
        .catch(function () { show([]); });
    }, 400);
  });
})();
