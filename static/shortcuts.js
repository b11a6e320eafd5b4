// Keyboard shortcuts (listed at /help/shortcuts): off until the reader turns them on there,
// since single-key shortcuts can be set off by speech input (WCAG 2.1.4); kept in
// localStorage. They never act while the focus is in a form field or with a modifier key.
(function () {
  "use strict";
  var KEY = "forum-shortcuts";
  function enabled() {
    try { return window.localStorage.getItem(KEY) === "on"; } catch (e) { return false; }
  }

  // The switch on the help page.
  var toggle = document.getElementById("shortcuts-toggle");
  var status = document.getElementById("shortcuts-status");
  function showState() {
    var on = enabled();
    toggle.textContent = on ? "Turn shortcuts off" : "Turn shortcuts on";
    status.textContent = on ? "Keyboard shortcuts are on in this browser."
                            : "Keyboard shortcuts are off in this browser.";
  }
  if (toggle && status) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      try { window.localStorage.setItem(KEY, enabled() ? "off" : "on"); } catch (e) { return; }
      showState();
    });
    showState();
  }

  function posts() {
    return Array.prototype.filter.call(
      document.querySelectorAll("ol.posts > li.post"), function (p) { return !p.hidden; });
  }
  function currentIndex(list) {
    var active = document.activeElement;
    for (var i = 0; i < list.length; i++) {
      if (list[i] === active || list[i].contains(active)) { return i; }
    }
    return -1;
  }
  function move(step) {
    var list = posts();
    if (!list.length) { return; }
    var i = currentIndex(list);
    var next = i < 0 ? (step > 0 ? 0 : list.length - 1)
                     : Math.min(list.length - 1, Math.max(0, i + step));
    list[next].setAttribute("tabindex", "-1");
    list[next].focus();
  }
  function reply() {
    var list = posts();
    var i = currentIndex(list);
    var link = i >= 0 ? list[i].querySelector('a[href*="/reply?to="]') : null;
    if (link) { window.location.href = link.href; return; }
    var box = document.querySelector(".reply-box textarea");
    if (box) { box.focus(); }
  }
  function search() {
    var field = document.getElementById("header-q");
    if (field) { field.focus(); field.select(); }
  }
  var actions = {
    "j": function () { move(1); },
    "k": function () { move(-1); },
    "r": reply,
    "/": search,
    "?": function () { window.location.href = "/help/shortcuts"; }
  };
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) {
      return;
    }
    var action = actions[event.key];
    if (!action || !enabled()) { return; }
    event.preventDefault();
    action();
  });
})();
