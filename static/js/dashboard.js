/* 数据看板: ECharts charts and the Leaflet canvas map of the micro-grids, drawn from the JSON the
   page embeds (#dashboard-data) — the same figures the server rendered and exports. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  /* the boundaries are asked for first, so the request runs while the charts are drawn */
  var mapStarted = performance.now();
  var boundaries = data.map && document.getElementById("map") && window.L
    ? fetch(data.map.boundaries, { credentials: "same-origin" }).then(function (r) { return r.json(); })
    : null;
  var big = document.body.classList.contains("bigscreen");
  var ink = big ? "#e6edf3" : "#1f2328";
  var palette = ["#c8102e", "#1d4ed8", "#12805c", "#b54708", "#7c3aed", "#0e7490", "#be185d", "#4d7c0f"];
  var charts = [];
  window.dashboardCharts = charts;

  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return null;
    var c = echarts.init(el, null, { renderer: "canvas" });
    option.color = palette;
    option.textStyle = { color: ink, fontFamily: "Noto Sans CJK SC, sans-serif" };
    option.animation = false;
    // tooltips drawn on the canvas: ECharts' HTML tooltips carry style attributes, which the
    // Content-Security-Policy refuses (style-src-attr)
    if (option.tooltip) option.tooltip.renderMode = "richText";
    c.setOption(option);
    el.dataset.rendered = "1";
    charts.push(c);
    return c;
  }
  function axis(extra) {
    return Object.assign({ axisLabel: { color: ink }, axisLine: { lineStyle: { color: ink } } }, extra || {});
  }

  var t = data.trend.rows;
  chart("chart-trend", {
    tooltip: { trigger: "axis" },
    legend: { top: 0, data: ["上报数", "办结数", "返工数", "满意率"], textStyle: { color: ink } },
    grid: { left: 48, right: 48, top: 56, bottom: 30 },
    xAxis: axis({ type: "category", data: t.map(function (r) { return r.label; }) }),
    yAxis: [axis({ type: "value", name: "件" }), axis({ type: "value", name: "%", max: 100 })],
    series: [
      { name: "上报数", type: "bar", data: t.map(function (r) { return r.reported; }) },
      { name: "办结数", type: "bar", data: t.map(function (r) { return r.resolved; }) },
      { name: "返工数", type: "line", data: t.map(function (r) { return r.reopened; }) },
      { name: "满意率", type: "line", yAxisIndex: 1, connectNulls: true, data: t.map(function (r) { return r.satisfaction_rate; }) },
    ],
  });

  var cats = data.categories.slice(0, 12);
  chart("chart-category", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: 0, data: ["上报数", "办结数"], textStyle: { color: ink } },
    grid: { left: 100, right: 20, top: 40, bottom: 24 },
    xAxis: axis({ type: "value", name: "件" }),
    yAxis: axis({ type: "category", inverse: true, data: cats.map(function (c) { return c.name; }) }),
    series: [
      { name: "上报数", type: "bar", data: cats.map(function (c) { return c.reported; }) },
      { name: "办结数", type: "bar", data: cats.map(function (c) { return c.resolved; }) },
    ],
  });

  var dims = ["urgency", "tier", "channel"];
  var counted = function (d) { return data.splits[d].rows.some(function (r) { return r.reported > 0; }); };
  chart("chart-splits", {
    tooltip: { trigger: "item", formatter: "{a}\n{b}：{c} 件（{d}%）" },
    // a split with nothing counted (no incident of the period has that field set) says so in
    // its ring, not as a bare grey circle
    title: dims.map(function (d, i) {
      return { text: data.splits[d].label, left: (i * 33.3 + 16.6) + "%", top: 0, textAlign: "center", textStyle: { fontSize: 13, color: ink } };
    }).concat(dims.filter(function (d) { return !counted(d); }).map(function (d) {
      return { text: "暂无数据", left: (dims.indexOf(d) * 33.3 + 16.6) + "%", top: "52%", textAlign: "center", textStyle: { fontSize: 12, fontWeight: "normal", color: ink } };
    })),
    series: dims.map(function (d, i) {
      return {
        name: data.splits[d].label, type: "pie", radius: ["28%", "52%"], center: [(i * 33.3 + 16.6) + "%", "55%"],
        label: { color: ink, fontSize: 11 },
        data: data.splits[d].rows.filter(function (r) { return r.reported > 0; }).map(function (r) { return { name: r.name, value: r.reported }; }),
      };
    }),
  });

  chart("chart-open", {
    tooltip: { trigger: "axis" },
    grid: { left: 48, right: 20, top: 20, bottom: 30 },
    xAxis: axis({ type: "category", data: data.open_by_state.map(function (s) { return s.name; }) }),
    yAxis: axis({ type: "value", name: "件" }),
    series: [{ type: "bar", data: data.open_by_state.map(function (s) { return s.value; }), label: { show: true, position: "top", color: ink } }],
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  /* --- WGS-84 → GCJ-02, for a tile layer drawn in the Chinese datum --------------------- */
  var A = 6378245.0, EE = 0.00669342162296594323;
  function outOfChina(lng, lat) { return lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271; }
  function tLat(x, y) {
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    return r + (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
  }
  function tLng(x, y) {
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    return r + (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
  }
  function wgs84ToGcj02(lng, lat) {
    if (outOfChina(lng, lat)) return [lng, lat];
    var dLat = tLat(lng - 105, lat - 35), dLng = tLng(lng - 105, lat - 35);
    var rad = lat / 180 * Math.PI, magic = 1 - EE * Math.sin(rad) * Math.sin(rad), sq = Math.sqrt(magic);
    dLat = (dLat * 180) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    dLng = (dLng * 180) / (A / sq * Math.cos(rad) * Math.PI);
    return [lng + dLng, lat + dLat];
  }
  window.wgs84ToGcj02 = wgs84ToGcj02;

  /* --- the micro-grid map ------------------------------------------------------------- */
  var mapEl = document.getElementById("map");
  if (!mapEl || !boundaries) return;
  var tiles = data.map.tiles;
  var project = tiles && tiles.datum === "gcj02" ? wgs84ToGcj02 : function (lng, lat) { return [lng, lat]; };
  var map = L.map(mapEl, { preferCanvas: true, zoomSnap: 0.25, attributionControl: !!tiles });
  if (tiles) L.tileLayer(tiles.url, { maxZoom: 19 }).addTo(map);
  var renderer = L.canvas({ padding: 0.2, tolerance: 3 });
  var status = data.map.status;
  var colours = { none: "#98a2b3", open: "#f59e0b", overdue: "#c8102e" };
  var card = document.getElementById("grid-card");
  window.dashboardMap = { map: map, polygons: 0 };

  function openCard(id) {
    fetch("grid/" + id + "/", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (g) {
      var roster = g.roster.map(function (p) { return "<li>" + esc(p.post) + "：" + esc(p.name) + "</li>"; }).join("") || "<li>未配置</li>";
      card.innerHTML = "<button class='close' type='button' aria-label='关闭'>×</button>" +
        "<h3>" + esc(g.name) + "</h3><p class='muted'>" + g.trail.map(esc).join(" › ") + "</p>" +
        "<ul class='kv'><li><span>户数</span><b>" + g.households + " 户</b></li>" +
        "<li><span>运行模式</span><b>" + esc(g.mode) + "</b></li>" +
        "<li><span>在办事件</span><b>" + g.incidents.open + " 件</b></li>" +
        "<li><span>超期事件</span><b>" + g.incidents.overdue + " 件</b></li>" +
        "<li><span>党小组</span><b>" + esc(g.party_group || "未建") + "</b></li>" +
        "<li><span>家庭医生团队</span><b>" + (g.doctor_teams.map(esc).join("、") || "未结对") + "</b></li></ul>" +
        "<h4>网格人员</h4><ul class='plain'>" + roster + "</ul>" +
        "<p><a href='" + g.link + "'>查看该网格看板 →</a> · <a href='" + g.list_link + "'>在办事件 →</a></p>";
      card.hidden = false;
      card.querySelector(".close").onclick = function () { card.hidden = true; };
    });
  }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; }); }

  boundaries.then(function (p) {
    window.dashboardMap.fetchedMs = Math.round(performance.now() - mapStarted);
    var lng0 = p.o[0], lat0 = p.o[1], s = p.s, layer = L.featureGroup();
    p.g.forEach(function (item) {
      var id = item[0], st = status[id], kind = st ? (st[1] > 0 ? "overdue" : "open") : "none";
      var rings = item[1].map(function (flat) {
        var x = 0, y = 0, ring = [];
        for (var i = 0; i < flat.length; i += 2) {
          x += flat[i]; y += flat[i + 1];
          var ll = project(lng0 + x / s, lat0 + y / s);
          ring.push([ll[1], ll[0]]);
        }
        return ring;
      });
      var poly = L.polygon(rings, { renderer: renderer, weight: 0.6, color: "#fff", fillColor: colours[kind], fillOpacity: kind === "none" ? 0.35 : 0.8 });
      poly.gridId = id;
      layer.addLayer(poly);
    });
    layer.on("click", function (e) { openCard(e.layer.gridId); });  /* one handler for all */
    window.dashboardMap.builtMs = Math.round(performance.now() - mapStarted);
    layer.addTo(map);
    window.dashboardMap.polygons = p.g.length;
    if (p.g.length) map.fitBounds(layer.getBounds(), { padding: [10, 10] });
    else map.setView([30.41, 103.46], 11);
    window.dashboardMap.renderMs = Math.round(performance.now() - mapStarted);
    mapEl.dataset.polygons = String(p.g.length);
    document.getElementById("map-note").textContent = "共 " + p.g.length.toLocaleString("zh-CN") + " 个微网格；点击微网格查看网格卡片。";
    /* the canvas renderer paints on the next animation frame: the frame after that is on screen */
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        window.dashboardMap.paintedMs = Math.round(performance.now() - mapStarted);
        window.dashboardMap.sinceNavigationMs = Math.round(performance.now());
        mapEl.dataset.painted = "1";
      });
    });
  });
})();
