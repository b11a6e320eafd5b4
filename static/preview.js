// Live preview: while a member writes, show the post as it will look, rendered by the server's
// one Markdown path (so what is shown is exactly what will be stored). Without this script
// the form's Preview button does the same with a full page.
(function () {
  "use strict";
  var area = document.querySelector("textarea[data-preview]");
  if (!area || !window.fetch || !window.FormData) { return; }
  var form = area.form;
  var token = form && form.querySelector("input[name=csrf_token]");
  if (!token) { return; }
  var region = document.createElement("section");
  region.className = "preview preview--live";
  region.setAttribute("aria-labelledby", "live-preview-title");
  var heading = document.createElement("h2");
  heading.id = "live-preview-title";
  heading.textContent = "Live preview";
  var body = document.createElement("div");
  body.className = "post-body";
  body.setAttribute("aria-live", "polite");
  region.appendChild(heading);
  region.appendChild(body);
  region.hidden = true;
  area.closest(".field").insertAdjacentElement("afterend", region);
  var timer = null;
  var last = null;
  function refresh() {
    var text = area.value;
    if (text === last) { return; }
    last = text;
    if (!text.trim()) { region.hidden = true; body.textContent = ""; return; }
    var data = new FormData();
    data.append("csrf_token", token.value);
    data.append("body", text);
    fetch(area.dataset.preview, {method: "POST", body: data, credentials: "same-origin"})
      .then(function (r) { return r.json().catch(function () { return null; }); })
      .then(function (result) {
        if (!result || text !== last) { return; }
        if (typeof result.html === "string") {
          // Sanitised HTML from the server's renderer (the same as a stored post's), under a
          // CSP that runs no inline script.
          body.innerHTML = result.html;
        } else if (typeof result.error === "string") {
          // Refused (too large, too complex, too many previews): say why, as text.
          body.textContent = result.error;
        } else { return; }
        region.hidden = false;
      })
      .catch(function () { /* the Preview button still works */ });
  }
  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 500);
  });
})();
