// Counter: the code field takes 6 digits. Where a camera exists, 扫码 reads the order's QR
// (QLJF:123456) into the field and looks it up: with the browser's BarcodeDetector where it
// has one (Chrome on Android), else by decoding camera frames with the vendored jsQR (iPhone
// Safari, Firefox, desktop browsers). The button is hidden only where there is no camera.
(function () {
  var form = document.getElementById("code-form");
  if (!form) return;
  var input = form.querySelector("input[name=code]");
  if (input) input.focus();
  var button = document.getElementById("scan");
  var video = document.getElementById("scan-video");
  var status = document.getElementById("scan-status");
  var media = navigator.mediaDevices;
  if (!button || !media || !media.getUserMedia) return;

  function say(text) { if (status) { status.textContent = text; status.hidden = !text; } }

  function hasCamera() {
    if (!media.enumerateDevices) return Promise.resolve(true);
    return media.enumerateDevices().then(function (devices) {
      return devices.some(function (d) { return d.kind === "videoinput"; });
    }, function () { return true; });
  }

  var jsqrLoading = null;
  function loadJsQR() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!jsqrLoading) {
      jsqrLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = button.getAttribute("data-jsqr");
        script.onload = function () { resolve(window.jsQR); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return jsqrLoading;
  }

  // a decoder: frame (the video element) -> Promise of the decoded strings
  function nativeDecoder() {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    return Promise.resolve(function (frame) {
      return detector.detect(frame).then(function (codes) { return codes.map(function (c) { return c.rawValue; }); });
    });
  }
  function jsqrDecoder() {
    return loadJsQR().then(function (jsQR) {
      var canvas = document.createElement("canvas");
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      return function (frame) {
        var w = frame.videoWidth, h = frame.videoHeight;
        if (!w || !h) return Promise.resolve([]);
        var scale = Math.min(1, 640 / Math.max(w, h));  // a phone frame is decoded at <= 640 px
        canvas.width = Math.round(w * scale); canvas.height = Math.round(h * scale);
        ctx.drawImage(frame, 0, 0, canvas.width, canvas.height);
        var image = ctx.getImageData(0, 0, canvas.width, canvas.height);
        var hit = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        return Promise.resolve(hit ? [hit.data] : []);
      };
    });
  }

  var stream = null;
  function stop() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null; video.hidden = true; button.textContent = "扫码";
  }

  hasCamera().then(function (yes) {
    if (!yes) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      if (stream) { stop(); say(""); return; }
      var decoder = ("BarcodeDetector" in window ? nativeDecoder() : jsqrDecoder()).catch(jsqrDecoder);
      media.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
        stream = s; video.srcObject = s; video.hidden = false; video.play();
        button.textContent = "停止扫码"; say("将顾客手机上的二维码对准取景框");
        return decoder.then(function (decode) {
          function tick() {
            if (!stream) return;
            decode(video).then(function (values) {
              var hit = values.find(function (v) { return /^QLJF:\d{6}$/.test(v); });
              if (hit) {
                stop(); say("已识别，正在查询…");
                input.value = hit.slice(5);
                form.submit();
              } else { setTimeout(tick, 120); }
            }, function () { setTimeout(tick, 120); });
          }
          tick();
        });
      }).catch(function () {
        stop();
        say("无法打开摄像头：请在浏览器设置中允许使用摄像头，或直接输入 6 位核销码");
      });
    });
  });
})();
