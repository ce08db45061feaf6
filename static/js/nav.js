// Grouped menu: in the bar (wide screens) one drop-down is open at a time and a click outside
// closes it; in the ☰ menu on a phone every group is shown open.
(function () {
  var groups = Array.prototype.slice.call(document.querySelectorAll(".navgroup"));
  if (!groups.length) return;
  var wide = window.matchMedia("(min-width: 1200px)");
  function layout() { groups.forEach(function (g) { g.open = !wide.matches; }); }
  layout();
  if (wide.addEventListener) wide.addEventListener("change", layout);
  groups.forEach(function (g) {
    g.addEventListener("toggle", function () {
      if (wide.matches && g.open) groups.forEach(function (o) { if (o !== g) o.open = false; });
    });
  });
  document.addEventListener("click", function (event) {
    if (!wide.matches) return;
    groups.forEach(function (g) { if (!g.contains(event.target)) g.open = false; });
  });
})();
