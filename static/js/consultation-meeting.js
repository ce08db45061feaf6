// The tablet meeting page: a countdown for the current speaker and a live vote count.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  var timer = document.getElementById("speech-timer");
  if (timer) {
    var started = Date.parse(timer.dataset.started);
    var limit = parseInt(timer.dataset.limit, 10);
    var tick = function () {
      var left = limit - Math.floor((Date.now() - started) / 1000);
      var abs = Math.abs(left);
      // The server ends the speech at its limit; the page only shows it.
      timer.textContent = left <= 0 ? "时间到" : pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
      timer.classList.toggle("over", left <= 0);
    };
    tick();
    setInterval(tick, 1000);
  }

  var live = document.getElementById("live-count");
  if (live) {
    var bars = live.querySelector("[data-role=bars]");
    var refresh = function () {
      fetch(live.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          live.querySelector("[data-role=voted]").textContent = data.voted;
          live.querySelector("[data-role=present]").textContent = data.present;
          var total = Math.max(data.present, 1);
          bars.textContent = "";
          data.choices.forEach(function (c) {
            var row = document.createElement("div");
            row.className = "bar";
            var label = document.createElement("span");
            label.textContent = c.label;
            var track = document.createElement("div");
            track.className = "track";
            var fill = document.createElement("div");
            fill.className = "fill";
            fill.style.width = Math.round((100 * c.votes) / total) + "%";
            track.appendChild(fill);
            var n = document.createElement("b");
            n.textContent = c.votes;
            row.append(label, track, n);
            bars.appendChild(row);
          });
        })
        .catch(function () { /* the next poll tries again */ });
    };
    refresh();
    setInterval(refresh, 2000);
  }
})();
