// 随手报: geolocation, photo preview, a draft kept in localStorage (so a dropped network or a
// closed tab loses nothing), and nearby open incidents offered as possible duplicates.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;
  var key = form.getAttribute("data-draft-key");
  var fields = ["category", "urgency", "description", "address", "lat", "lng", "micro_grid"];
  var status = document.getElementById("draft-status");
  var hasErrors = !!form.querySelector(".error, .form-errors");

  function el(name) { return form.elements.namedItem(name); }

  function save() {
    var draft = {};
    fields.forEach(function (n) { if (el(n)) draft[n] = el(n).value; });
    try { localStorage.setItem(key, JSON.stringify(draft)); } catch (e) { /* storage full or private mode */ }
    if (status) status.textContent = "草稿已自动保存在本机";
  }

  function restore() {
    var raw = null;
    try { raw = localStorage.getItem(key); } catch (e) { return; }
    if (!raw || hasErrors) return;
    try {
      var draft = JSON.parse(raw);
      var restored = false;
      fields.forEach(function (n) {
        if (el(n) && draft[n] && !el(n).value) { el(n).value = draft[n]; restored = true; }
      });
      if (restored && status) status.textContent = "已恢复上次未提交的草稿";
      if (draft.lat) showPosition(draft.lat, draft.lng);
    } catch (e) { /* ignore a corrupt draft */ }
  }

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
        save();
      }, function () {
        s.textContent = "定位失败，请选择所在微网格";
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  var photos = el("photos");
  var preview = document.getElementById("photo-preview");
  var shrinking = null; // a Promise while large photos are being scaled down

  // Phone cameras take 12+ megapixel photos; scaled to at most MAX_SIDE px and re-encoded as
  // JPEG here, they upload in a fraction of the time on a slow connection. The server still
  // checks and re-encodes whatever arrives. The canvas drops EXIF, and with it the photo's GPS,
  // which the server uses as the location when none is given: so a photo is only scaled down
  // once the position is known (or when it is small enough to send as it is).
  var MAX_SIDE = 1600, QUALITY = 0.85, SMALL_BYTES = 1024 * 1024;

  function shrink(file) {
    if (!/^image\/jpeg$/.test(file.type) || file.size <= SMALL_BYTES || !el("lat").value ||
        !window.createImageBitmap || !window.DataTransfer) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      if (scale === 1) return file;
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve(blob && blob.size < file.size
            ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" })
            : file);
        }, "image/jpeg", QUALITY);
      });
    }).catch(function () { return file; }); // the browser cannot decode it: let the server say why
  }

  if (photos && preview) {
    photos.addEventListener("change", function () {
      preview.innerHTML = "";
      var files = Array.prototype.slice.call(photos.files, 0, 9);
      files.forEach(function (file) {
        var img = document.createElement("img");
        img.alt = file.name;
        img.src = URL.createObjectURL(file);
        preview.appendChild(img);
      });
      if (photos.files.length > 9) { alert("每次最多上传 9 张照片"); return; }
      var job = Promise.all(files.map(shrink)).then(function (smaller) {
        if (job === shrinking && smaller.some(function (f, i) { return f !== files[i]; })) {
          var dt = new DataTransfer();
          smaller.forEach(function (f) { dt.items.add(f); });
          photos.files = dt.files; // does not fire "change" again
        }
      }).catch(function () { /* keep the originals */ }).then(function () {
        if (job === shrinking) shrinking = null;
      });
      shrinking = job;
    });
  }

  function lookupDuplicates() {
    var box = document.getElementById("dups");
    if (!box || !el("lat").value || !el("category").value) return;
    var url = box.getAttribute("data-url") + "?category=" + encodeURIComponent(el("category").value) +
      "&lat=" + el("lat").value + "&lng=" + el("lng").value;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) {
        if (!items.length) { box.style.display = "none"; return; }
        box.innerHTML = "<strong>附近已有相似事件，可直接附议：</strong>";
        var ul = document.createElement("ul");
        items.slice(0, 3).forEach(function (it) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = "/grids/incidents/" + it.id + "/";
          a.textContent = "#" + it.id + " " + it.description.slice(0, 30) + "（约 " + it.distance_m + " 米，" + it.status_display + "）";
          li.appendChild(a);
          ul.appendChild(li);
        });
        box.appendChild(ul);
        box.style.display = "block";
      })
      .catch(function () { /* offline: no suggestions */ });
  }

  form.addEventListener("input", save);
  form.addEventListener("change", function (e) { save(); if (e.target.name === "category") lookupDuplicates(); });
  form.addEventListener("submit", function (e) {
    if (!navigator.onLine) {
      e.preventDefault();
      save();
      document.body.classList.add("offline");
      return;
    }
    if (shrinking) { // wait for the scaled-down photos, then send
      e.preventDefault();
      shrinking.then(function () { form.requestSubmit ? form.requestSubmit() : form.submit(); });
      return;
    }
    try { sessionStorage.setItem(key + ":submitted", "1"); } catch (err) { /* ignore */ }
  });
  window.addEventListener("offline", function () { document.body.classList.add("offline"); });
  window.addEventListener("online", function () { document.body.classList.remove("offline"); });
  if (!navigator.onLine) document.body.classList.add("offline");
  restore();
})();

// On the page that follows a successful report, the draft is no longer needed.
(function () {
  "use strict";
  try {
    for (var i = 0; i < sessionStorage.length; i++) {
      var k = sessionStorage.key(i);
      if (k && k.indexOf("grids-report-draft-") === 0 && /:submitted$/.test(k) && !document.getElementById("report-form")) {
        localStorage.removeItem(k.replace(/:submitted$/, ""));
        sessionStorage.removeItem(k);
      }
    }
  } catch (e) { /* ignore */ }
})();
