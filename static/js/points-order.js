// The order page polls its status so it changes the moment the counter settles the order.
(function () {
  var box = document.getElementById("order");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var initial = box.getAttribute("data-status");
  var delay = 2500;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.status !== initial) { window.location.reload(); return; }
        delay = Math.min(delay * 1.2, 10000);
        setTimeout(poll, delay);
      })
      .catch(function () { setTimeout(poll, 10000); });
  }
  setTimeout(poll, delay);
})();
