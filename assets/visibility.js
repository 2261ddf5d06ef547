/* Pause the dashboard's auto refresh while the tab is hidden (Page Visibility API),
   resume and refresh at once when it is shown again. */
(function () {
  function apply() {
    var hidden = document.visibilityState !== "visible";
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("refresh", {disabled: hidden});
    }
    document.documentElement.setAttribute("data-refresh", hidden ? "paused" : "live");
    if (!hidden) {
      var button = document.getElementById("refresh-button");
      if (button) { button.click(); }
    }
  }
  document.addEventListener("visibilitychange", apply);
})();
