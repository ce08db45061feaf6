// Counter: the code field takes 6 digits; where the browser has BarcodeDetector and a camera,
// a scan button reads the order's QR (QLJF:123456) into the field and looks it up.
(function () {
  var form = document.getElementById("code-form");
  if (!form) return;
  var input = form.querySelector("input[name=code]");
  if (input) input.focus();
  var button = document.getElementById("scan");
  var video = document.getElementById("scan-video");
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !button) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream; video.hidden = false; video.play();
      function tick() {
        detector.detect(video).then(function (codes) {
          var hit = codes.map(function (c) { return c.rawValue; }).find(function (v) { return /^QLJF:\d{6}$/.test(v); });
          if (hit) {
            stream.getTracks().forEach(function (t) { t.stop(); });
            input.value = hit.slice(5);
            form.submit();
          } else { requestAnimationFrame(tick); }
        }).catch(function () { requestAnimationFrame(tick); });
      }
      tick();
    }).catch(function () { button.hidden = true; });
  });
})();
