/* 共治 · residents' pages: small enhancements; every page works without them. */
(function () {
  "use strict";
  function counters() {
    document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
      var field = document.getElementById(counter.getAttribute("data-counter-for"));
      var shown = counter.querySelector("span");
      if (!field || !shown) return;
      var max = parseInt(field.getAttribute("maxlength") || "0", 10);
      function update() {
        var n = field.value.length;
        shown.textContent = n;
        counter.classList.toggle("over", max > 0 && n > max);
      }
      field.addEventListener("input", update);
      update();
    });
  }
  function anonymous() {
    var box = document.getElementById("id_anonymous");
    var name = document.getElementById("id_name");
    if (!box || !name) return;
    function update() { name.disabled = box.checked; }
    box.addEventListener("change", update);
    update();
  }
  function photoLimit() {
    var input = document.getElementById("id_photos");
    if (!input) return;
    var max = parseInt(input.getAttribute("data-max-count") || "0", 10);
    input.addEventListener("change", function () {
      input.setCustomValidity(max && input.files.length > max ? "最多上传 " + max + " 张照片。" : "");
      input.reportValidity();
    });
  }
  // The place lists reload as the street and the community change (htmx); a reply that
  // arrives after the resident picked an entry must not undo the pick: keep the chosen
  // value when the new list still offers it.
  function keepPlaceChoice() {
    var kept = {};
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var target = event.detail.target;
      if (target && target.tagName === "SELECT") kept[target.id] = target.value;
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var target = event.detail.target;
      if (!target || target.tagName !== "SELECT" || !kept[target.id]) return;
      var value = kept[target.id];
      if (Array.prototype.some.call(target.options, function (o) { return o.value === value; })) {
        target.value = value;
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    counters(); anonymous(); photoLimit(); keepPlaceChoice();
  });
})();
