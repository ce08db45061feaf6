// Every form on the site: the server validates and answers in Chinese beside the field, so the
// browser's own bubbles (in the browser's language, and easily bypassed) are switched off.
// Long text fields (a limit of 50 characters or more) show a live count instead of silently
// cutting what is typed: the limit moves from maxlength to the counter, the server refuses
// text over it with a message beside the field.
(function () {
  Array.prototype.forEach.call(document.forms, function (form) { form.noValidate = true; });
  var fields = document.querySelectorAll("textarea[maxlength], input[type=text][maxlength]");
  Array.prototype.forEach.call(fields, function (field) {
    var max = parseInt(field.getAttribute("maxlength"), 10);
    if (!(max >= 50)) return;
    field.removeAttribute("maxlength");
    var counter = document.createElement("small");
    counter.className = "char-count";
    counter.setAttribute("aria-live", "polite");
    counter.setAttribute("data-testid", "char-count");
    field.insertAdjacentElement("afterend", counter);
    function update() {
      var n = Array.from(field.value).length;  // characters, not UTF-16 units
      counter.textContent = n + " / " + max + (n > max ? "，超出 " + (n - max) + " 字" : "");
      counter.classList.toggle("over", n > max);
    }
    field.addEventListener("input", update);
    update();
  });
})();
