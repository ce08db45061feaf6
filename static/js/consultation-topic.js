// Long checkbox lists (inviting a community's residents to a meeting): a name filter and a
// count of who is ticked, so staff find people among hundreds without scrolling.
(function () {
  "use strict";
  // Django renders a CheckboxSelectMultiple as <div id="id_x"><div><label>…</label></div>…</div>.
  // The meeting form's invite list: <fieldset class="members"><div id="id_members"> of <div class="member">.
  document.querySelectorAll(".field > div[id], .field > ul[id], fieldset.members > div[id]").forEach(function (list) {
    var boxes = list.querySelectorAll("input[type=checkbox]");
    if (boxes.length < 12) return;
    var bar = document.createElement("div");
    bar.className = "actions";
    var search = document.createElement("input");
    search.type = "search";
    search.placeholder = "输入姓名筛选";
    search.setAttribute("aria-label", "按姓名筛选");
    search.style.flex = "1";
    var count = document.createElement("small");
    count.className = "muted";
    var update = function () {
      var ticked = list.querySelectorAll("input[type=checkbox]:checked").length;
      count.textContent = "已选 " + ticked + " 人 / 共 " + boxes.length + " 人";
    };
    search.addEventListener("input", function () {
      var q = search.value.trim();
      Array.prototype.forEach.call(list.children, function (item) {
        item.hidden = q !== "" && item.textContent.indexOf(q) === -1;
      });
    });
    list.addEventListener("change", update);
    bar.append(search, count);
    list.parentNode.insertBefore(bar, list);
    list.style.maxHeight = "18rem";
    list.style.overflowY = "auto";
    update();
  });
})();

// A refused form comes back with its messages beside the fields: bring the first into view.
(function () {
  "use strict";
  var first = document.querySelector(".member.has-error, .field.has-error");
  if (first) first.scrollIntoView({ block: "center" });
})();
