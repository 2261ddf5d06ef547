/* Activity log: keep the newest events (at the bottom) in view, unless the user scrolled up. */
(function () {
  var stick = true;
  function log() { return document.getElementById("act-log"); }
  function state(text) {
    var el = document.getElementById("act-scroll-state");
    if (el) { el.textContent = text; }
  }
  document.addEventListener("scroll", function (event) {
    var el = log();
    if (!el || event.target !== el) { return; }
    stick = el.scrollHeight - el.scrollTop - el.clientHeight < 30;
    state(stick ? "auto-scroll on" : "auto-scroll paused (scroll to the bottom to resume)");
  }, true);
  new MutationObserver(function () {
    var el = log();
    if (el && stick) { el.scrollTop = el.scrollHeight; }
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
