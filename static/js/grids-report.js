// 随手报 with an outbox: a report is never lost and never doubled.
//
// The form being filled (every field and the photos, as Blobs) is kept in IndexedDB as it is
// typed, so a reload, a closed tab or a dead battery loses nothing. 提交 moves it into the
// outbox with a key made here (the idempotency key): the server stores it on the incident and
// answers a resend with the incident the first send created. The outbox sends by itself on
// page load, when the network returns, when the page becomes visible and every 60 s (backing
// off while the server is unreachable). A draft the server refuses (a field, the place) stays
// with the server's message until the worker fixes it. No service worker is needed for any of
// this (iOS in-app browsers have none); where there is one (sw.js) the page also opens offline.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form || !window.indexedDB || !window.FormData) return; // the plain form still works
  var FIELDS = ["category", "urgency", "description", "address", "lat", "lng", "micro_grid", "channel"];
  var MAX_SIDE = 1280, QUALITY = 0.7, MAX_PHOTOS = 9, TICK_MS = 60000, MAX_BACKOFF_MS = 600000;
  var user = form.getAttribute("data-user");
  var list = document.getElementById("outbox-list");
  var counter = document.getElementById("outbox-count");
  var status = document.getElementById("draft-status");
  var preview = document.getElementById("photo-preview");
  var photoInput = form.elements.namedItem("photos");
  var current = { photos: [] }; // the form being filled
  var sending = false;
  var justSubmitted = null; // the key submitted from this page: its success opens the incident

  function el(name) { return form.elements.namedItem(name); }

  // --- IndexedDB: two stores, "form" (the one being filled) and "outbox" (submitted drafts) ---
  var dbPromise = new Promise(function (resolve, reject) {
    var open = indexedDB.open("qionglai-report-" + user, 1);
    open.onupgradeneeded = function () {
      open.result.createObjectStore("form");
      open.result.createObjectStore("outbox", { keyPath: "key" });
    };
    open.onsuccess = function () { resolve(open.result); };
    open.onerror = function () { reject(open.error); };
  });

  function tx(store, mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode);
        var result = work(t.objectStore(store));
        t.oncomplete = function () { resolve(result && result.result !== undefined ? result.result : result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }
  function allDrafts() {
    return tx("outbox", "readonly", function (s) { return s.getAll(); }).then(function (rows) {
      return (rows || []).sort(function (a, b) { return a.created - b.created; });
    });
  }
  function putDraft(d) { return tx("outbox", "readwrite", function (s) { s.put(d); }); }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // --- the form being filled ---
  function readForm() {
    var fields = {};
    FIELDS.forEach(function (n) { if (el(n)) fields[n] = el(n).value; });
    return fields;
  }
  function saveForm() {
    current.fields = readForm();
    tx("form", "readwrite", function (s) { s.put(current, "current"); }).catch(function () {});
    if (status) status.textContent = "草稿已自动保存在本机";
  }
  function fillForm(draft, keepPicked) {
    FIELDS.forEach(function (n) {
      if (el(n) && draft.fields && draft.fields[n] !== undefined && draft.fields[n] !== "") el(n).value = draft.fields[n];
    });
    // on page load, photos picked while the saved draft was still being read stay, after its own
    var picked = keepPicked ? current.photos : [];
    current = { fields: draft.fields || {}, photos: (draft.photos || []).concat(picked), key: draft.key };
    showPhotos();
    if (draft.fields && draft.fields.lat) showPosition(draft.fields.lat, draft.fields.lng);
  }
  function clearForm() {
    FIELDS.forEach(function (n) {
      var f = el(n);
      if (!f || f.type === "hidden" && n === "channel") return;
      f.value = f.tagName === "SELECT" ? (f.querySelector("option[selected]") || f.options[0] || {}).value || "" : "";
    });
    current = { photos: [] };
    tx("form", "readwrite", function (s) { s.delete("current"); }).catch(function () {});
    showPhotos();
    var g = document.getElementById("geo-status");
    if (g) g.textContent = "未定位";
  }

  // The photos live in the draft, not in the file input (emptied after each pick), so the
  // browser's own 「未选择任何文件」 beside the button would contradict the thumbnails: with this
  // script running, the field hides that text and says here how many photos the report holds.
  var photoCount = document.getElementById("photo-count");
  if (photoInput && photoCount) {
    photoInput.parentNode.classList.add("photos-managed");
    photoCount.textContent = "尚未添加照片";
    photoCount.hidden = false;
  }

  function showPhotos() {
    if (photoCount) {
      var n = current.photos.length;
      photoCount.textContent = n
        ? "已添加 " + n + " 张照片" + (n < MAX_PHOTOS ? "，还可添加 " + (MAX_PHOTOS - n) + " 张" : "（已达上限）")
        : "尚未添加照片";
    }
    if (!preview) return;
    preview.innerHTML = "";
    current.photos.forEach(function (p, i) {
      var box = document.createElement("div");
      box.className = "photo-thumb";
      box.setAttribute("data-bytes", p.blob.size); // what will go over the link
      box.title = "照片 " + (i + 1) + "：" + Math.max(1, Math.round(p.blob.size / 1024)) + " KB";
      var img = document.createElement("img");
      img.alt = "照片 " + (i + 1);
      img.src = URL.createObjectURL(p.blob);
      var drop = document.createElement("button");
      drop.type = "button"; drop.className = "photo-drop"; drop.textContent = "×";
      drop.setAttribute("aria-label", "删除这张照片");
      drop.addEventListener("click", function () { current.photos.splice(i, 1); showPhotos(); saveForm(); });
      box.appendChild(img); box.appendChild(drop);
      preview.appendChild(box);
    });
  }

  // Phone cameras take 12+ megapixel photos: scaled here to at most 1280 px (enough for a
  // handler to read a sign or a crack) at JPEG 0.7, a real photo comes to 60–250 KB. A 400
  // kbit/s link moves about 50 KB/s, so a 5-second report leaves room for about 200 KB: a
  // photo still over that budget (fine texture: foliage, gravel, sensor noise) is encoded
  // again at 0.6, then 0.5, never lower (below 0.5 blocking shows on text and edges, which
  // matter more than seconds). The server still checks and re-encodes whatever arrives.
  // Scaling drops EXIF (and the photo's GPS): the position comes from the phone's location or
  // the chosen micro-grid.
  var BUDGET = 200 * 1024, MIN_QUALITY = 0.5;
  function encode(canvas, quality) {
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality); });
  }
  function shrink(file) {
    if (!window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      if (bitmap.close) bitmap.close();
      function attempt(quality) {
        return encode(canvas, quality).then(function (blob) {
          if (blob && blob.size > BUDGET && quality - 0.1 >= MIN_QUALITY - 1e-9) return attempt(quality - 0.1);
          return blob;
        });
      }
      return attempt(QUALITY).then(function (blob) {
        return blob && (blob.size < file.size || scale < 1) ? blob : file;
      });
    }).catch(function () { return file; }); // the browser cannot decode it: let the server say why
  }

  var shrinking = null;
  if (photoInput) {
    var takePhotos = function () {
      var files = Array.prototype.slice.call(photoInput.files, 0, MAX_PHOTOS - current.photos.length);
      if (!files.length) return;
      if (status) status.textContent = "正在压缩照片…";
      var job = Promise.all(files.map(shrink)).then(function (blobs) {
        blobs.forEach(function (b, i) {
          var name = files[i].name.replace(/\.\w+$/, "") + (b.type === "image/jpeg" ? ".jpg" : "");
          current.photos.push({ name: name || "photo.jpg", type: b.type || files[i].type, blob: b });
        });
        photoInput.value = ""; // the photos live in the draft now
        showPhotos();
        saveForm();
      });
      shrinking = job.then(function () { if (shrinking === job) shrinking = null; });
    };
    photoInput.addEventListener("change", takePhotos);
    // A photo chosen before this deferred script ran (a slow link, a quick hand) fired its
    // change event with no listener: take it now, or the report would go without it.
    takePhotos();
  }

  // --- position ---
  function showPosition(lat, lng) {
    var s = document.getElementById("geo-status");
    if (s) s.textContent = "已定位：" + Number(lat).toFixed(5) + ", " + Number(lng).toFixed(5);
    lookupDuplicates();
  }
  var geoButton = document.getElementById("geo-button");
  if (geoButton) {
    geoButton.addEventListener("click", function () {
      var s = document.getElementById("geo-status");
      if (!navigator.geolocation) { s.textContent = "此设备不支持定位，请选择微网格"; return; }
      s.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        el("lat").value = pos.coords.latitude.toFixed(6);
        el("lng").value = pos.coords.longitude.toFixed(6);
        showPosition(el("lat").value, el("lng").value);
        saveForm();
      }, function () {
        s.textContent = "定位失败，请选择所在微网格";
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  function lookupDuplicates() {
    var box = document.getElementById("dups");
    if (!box || !navigator.onLine || !el("lat").value || !el("category").value) return;
    var url = box.getAttribute("data-url") + "?category=" + encodeURIComponent(el("category").value) +
      "&lat=" + el("lat").value + "&lng=" + el("lng").value;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) {
        if (!items.length) { box.style.display = "none"; return; }
        box.textContent = "";
        var strong = document.createElement("strong");
        strong.textContent = "附近已有相似事件，可直接附议：";
        box.appendChild(strong);
        var ul = document.createElement("ul");
        items.slice(0, 3).forEach(function (it) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = "/grids/incidents/" + it.id + "/";
          a.textContent = "#" + it.id + " " + it.description.slice(0, 30) + "（约 " + it.distance_m + " 米，" + it.status_display + "）";
          li.appendChild(a); ul.appendChild(li);
        });
        box.appendChild(ul);
        box.style.display = "block";
      })
      .catch(function () { /* offline: no suggestions */ });
  }

  // --- the outbox ---
  var STATE = { pending: "待发送", sending: "发送中", sent: "已上报", failed: "失败" };

  function render() {
    return allDrafts().then(function (drafts) {
      var waiting = drafts.filter(function (d) { return d.state !== "sent"; });
      if (counter) {
        counter.textContent = waiting.length ? waiting.length + " 条待发送" : "";
        counter.hidden = !waiting.length;
      }
      if (!list) return drafts;
      list.innerHTML = "";
      drafts.forEach(function (d) {
        var li = document.createElement("li");
        li.className = "outbox-item state-" + d.state;
        li.setAttribute("data-testid", "draft");
        li.setAttribute("data-key", d.key);
        li.setAttribute("data-state", d.state);
        var title = document.createElement("span");
        title.className = "outbox-title";
        title.textContent = (d.fields.description || "（无描述）").slice(0, 24) + (d.photos.length ? "（" + d.photos.length + " 张照片）" : "");
        var state = document.createElement("span");
        state.className = "outbox-state";
        if (d.state === "sent") {
          var a = document.createElement("a");
          a.href = d.url; a.textContent = "已上报 #" + d.incidentId;
          state.appendChild(a);
        } else if (d.state === "failed") {
          state.textContent = "失败：" + d.message;
        } else if (d.state === "sending" && d.progress) {
          state.textContent = "发送中 " + d.progress;
        } else {
          state.textContent = STATE[d.state] + (d.message ? "（" + d.message + "）" : "");
        }
        li.appendChild(title); li.appendChild(state);
        if (d.state === "failed") {
          var fix = document.createElement("button");
          fix.type = "button"; fix.className = "btn"; fix.textContent = "修改后重新提交";
          fix.setAttribute("data-testid", "fix-draft");
          fix.addEventListener("click", function () { edit(d); });
          li.appendChild(fix);
        }
        list.appendChild(li);
      });
      return drafts;
    });
  }

  function edit(d) {
    // back into the form, with the server's messages beside the fields; same key, so a send
    // that did reach the server is still answered with its incident
    tx("outbox", "readwrite", function (s) { s.delete(d.key); }).then(function () {
      fillForm(d);
      Object.keys(d.fields_errors || {}).forEach(function (name) {
        var f = el(name);
        var box = f && f.closest(".field");
        if (!box) return;
        box.classList.add("has-error");
        var p = document.createElement("p");
        p.className = "error"; p.textContent = d.fields_errors[name].join("；");
        box.appendChild(p);
      });
      saveForm();
      render();
      form.scrollIntoView();
    });
  }

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function send(d) {
    // one XHR (not fetch) for the upload progress, shown per photo
    return new Promise(function (resolve) {
      var data = new FormData();
      FIELDS.forEach(function (n) { if (d.fields[n] !== undefined) data.append(n, d.fields[n]); });
      data.append("idempotency_key", d.key);
      var sizes = d.photos.map(function (p) { return p.blob.size; });
      d.photos.forEach(function (p) { data.append("photos", p.blob, p.name); });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") || location.pathname);
      xhr.setRequestHeader("X-Outbox", "1");
      xhr.setRequestHeader("X-CSRFToken", csrf());
      if (d.key === justSubmitted) xhr.setRequestHeader("X-Outbox-Foreground", "1");
      xhr.timeout = 120000;
      if (xhr.upload && sizes.length) {
        xhr.upload.onprogress = function (e) {
          if (!e.lengthComputable) return;
          var loaded = e.loaded, done = 0, parts = [];
          sizes.forEach(function (size, i) {
            var share = Math.max(0, Math.min(1, (loaded - done) / size));
            done += size;
            parts.push("照片" + (i + 1) + " " + Math.round(share * 100) + "%");
          });
          d.progress = parts.join("，");
          var item = list && list.querySelector('[data-key="' + d.key + '"] .outbox-state');
          if (item) item.textContent = "发送中 " + d.progress;
        };
      }
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: a proxy's page */ }
        resolve({ status: xhr.status, body: body });
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () { resolve({ status: 0, body: {} }); };
      xhr.send(data);
    });
  }

  function settle(d, result) {
    d.progress = "";
    if (result.status === 200 || result.status === 201) {
      d.state = "sent"; d.incidentId = result.body.id; d.url = result.body.url;
      d.photos = []; d.message = ""; // the server has them: free the phone's storage
    } else if (result.status === 400 || result.status === 403) {
      d.state = "failed";
      d.message = result.body.message || (result.status === 403 ? "没有权限在该位置上报" : "提交的内容有误");
      d.fields_errors = result.body.fields || {};
    } else {
      d.state = "pending"; // unreachable, busy (409), a server error: try again later
      d.attempts = (d.attempts || 0) + 1;
      d.nextTry = Date.now() + Math.min(TICK_MS * Math.pow(2, d.attempts - 1), MAX_BACKOFF_MS);
      d.message = result.status === 0 ? "网络不通，稍后自动重发" :
        result.status === 409 ? "系统繁忙，稍后自动重发" : "服务器暂时出错，稍后自动重发";
    }
    return putDraft(d);
  }

  var again = false; // asked to send while a round was under way: one more round after it
  function flush(force) {
    if (sending) { again = again || force; return Promise.resolve(); }
    sending = true;
    return allDrafts().then(function (drafts) {
      var due = drafts.filter(function (d) {
        return d.state === "pending" || d.state === "sending" ? force || !d.nextTry || d.nextTry <= Date.now() : false;
      });
      return due.reduce(function (chain, d) {
        return chain.then(function () {
          if (!navigator.onLine) return;
          d.state = "sending";
          return putDraft(d).then(render).then(function () { return send(d); }).then(function (result) {
            return settle(d, result).then(function () {
              if (d.key !== justSubmitted) return;
              if (d.state === "sent") { location.href = d.url; return; }
              // the line under 提交 said 正在发送…: it must not stay as if that were still so
              if (status) status.textContent = d.state === "failed" ? "未能上报，草稿保留在上方待发送列表中，请修改后重新提交" :
                "未能发出，已存入待发送，稍后自动重发";
            });
          });
        });
      }, Promise.resolve());
    }).catch(function () { /* storage unavailable: nothing to send */ }).then(function () {
      sending = false;
      if (again) { again = false; return flush(true); }
      return render();
    });
  }

  function pruneSent() {
    // keep what was sent for a day so the worker sees 已上报 #编号, then forget it
    var dayAgo = Date.now() - 86400000;
    return tx("outbox", "readwrite", function (s) {
      var req = s.openCursor();
      req.onsuccess = function () {
        var c = req.result;
        if (!c) return;
        if (c.value.state === "sent" && c.value.created < dayAgo) c.delete();
        c.continue();
      };
    }).catch(function () {});
  }

  form.addEventListener("input", saveForm);
  form.addEventListener("change", function (e) {
    if (e.target === photoInput) return;
    saveForm();
    if (e.target.name === "category") lookupDuplicates();
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    (shrinking || Promise.resolve()).then(function () {
      var fields = readForm();
      var draft = {
        key: current.key || newKey(), created: Date.now(), fields: fields,
        photos: current.photos.slice(), state: "pending", attempts: 0, message: ""
      };
      if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
      return putDraft(draft).then(function () {
        justSubmitted = draft.key;
        clearForm();
        form.querySelectorAll(".field .error").forEach(function (p) { p.remove(); });
        form.querySelectorAll(".has-error").forEach(function (f) { f.classList.remove("has-error"); });
        if (status) status.textContent = navigator.onLine ? "正在发送…" : "已存入待发送，恢复网络后自动发送";
        return render();
      }).then(function () { return flush(true); });
    });
  });

  function online() { document.body.classList.toggle("offline", !navigator.onLine); }
  window.addEventListener("offline", online);
  window.addEventListener("online", function () { online(); flush(true); });
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") flush(false); });
  setInterval(function () { flush(false); }, TICK_MS);
  online();

  // a page that came back with server-side errors (the plain form) keeps what it shows;
  // otherwise the form being filled comes back from IndexedDB
  var hasErrors = !!form.querySelector(".error, .form-errors");
  tx("form", "readonly", function (s) { return s.get("current"); }).then(function (saved) {
    if (saved && !hasErrors) {
      fillForm(saved, true);
      if (status) status.textContent = "已恢复上次未提交的草稿";
    }
  }).catch(function () {}).then(pruneSent).then(function () { return flush(true); });

  // The service worker's install downloads the page and its assets once more (its precache):
  // registered after `load`, so on a slow link it never competes with the page's own first
  // load for the little bandwidth there is.
  function registerWorker() {
    if (!("serviceWorker" in navigator) || !form.getAttribute("data-sw")) return;
    navigator.serviceWorker.register(form.getAttribute("data-sw"), { scope: "/grids/" }).catch(function () {});
  }
  if (document.readyState === "complete") registerWorker();
  else window.addEventListener("load", registerWorker);
})();
