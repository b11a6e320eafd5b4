// Leaving a page with words written and not sent asks first (the browser's own question):
// a reply, a new thread, an edit or a summary is not lost to a stray click or a closed tab.
// Sending the form (or previewing it) never asks. Without JavaScript nothing changes.
(function () {
  "use strict";
  var fields = document.querySelectorAll("form[method=post] textarea[name=body]");
  if (!fields.length) { return; }
  var sending = false;
  function written() {
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.value.trim() && f.value !== f.defaultValue) { return true; }
    }
    return false;
  }
  // Bubbling to the window, after any script of the form's own that sends it some other way.
  window.addEventListener("submit", function (e) { if (!e.defaultPrevented) { sending = true; } });
  window.addEventListener("beforeunload", function (e) {
    if (!sending && written()) {
      e.preventDefault();
      e.returnValue = "";
    }
  });
})();
