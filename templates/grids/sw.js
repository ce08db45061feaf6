{% load static %}// 随手报's service worker: the report page and its assets are precached so the page opens
// with no network (the outbox in the page's own script does the sending). Pages: network
// first, the cached copy when offline. Static files have hashed names: cache first.
"use strict";
var CACHE = "qionglai-report-{{ version }}";
var PAGE = "{% url 'grids:report' %}";
var ASSETS = [
  "{% static 'css/app.css' %}",
  "{% static 'css/nav.css' %}",
  "{% static 'css/grids.css' %}",
  "{% static 'js/nav.js' %}",
  "{% static 'js/forms.js' %}",
  "{% static 'js/app.js' %}",
  "{% static 'js/grids-report.js' %}"
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(ASSETS).then(function () {
      return fetch(PAGE, { credentials: "same-origin" }).then(function (r) {
        if (r.ok && !r.redirected) return cache.put(PAGE, r);
      });
    });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("qionglai-report-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return; // reports go to the network, through the page's outbox
  var url = new URL(request.url);
  if (url.origin !== location.origin) return;
  if (url.pathname === PAGE) {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(PAGE, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(PAGE).then(function (hit) {
        return hit || new Response("<!doctype html><meta charset=utf-8><p>网络已断开，且本机还没有保存随手报页面。请联网后打开一次。</p>",
          { headers: { "Content-Type": "text/html; charset=utf-8" } });
      });
    }));
    return;
  }
  if (ASSETS.indexOf(url.pathname) !== -1) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
  }
});
