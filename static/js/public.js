/* 共治 · residents' pages: small enhancements; every page works without them.
   Messages come from the page (data- attributes the server renders from the same
   limits it checks), so the browser and the server say the same thing. */
(function () {
  "use strict";

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }
  // Characters as the server counts them (Python's len: code points, not UTF-16 units).
  function length(text) { return Array.from(text).length; }

  // --- the character counter: warns near the limit, marks and blocks past it ------------------
  // The textarea's maxlength would cut a pasted text silently; with the counter in charge
  // the whole text stays, the excess is shown and the form is not sent until it is cut.
  function counters() {
    document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
      var field = document.getElementById(counter.getAttribute("data-counter-for"));
      var text = counter.querySelector("[data-counter-text]"), state = counter.querySelector("[data-counter-state]");
      var max = parseInt(counter.getAttribute("data-max") || "0", 10);
      var warnAt = parseInt(counter.getAttribute("data-warn-at") || "0", 10) || max;
      if (!field || !text || !max) return;
      field.removeAttribute("maxlength");
      var last = null;
      function update() {
        var n = length(field.value), now = n > max ? "over" : n >= warnAt ? "near" : "ok";
        var values = { n: n, max: max, left: Math.max(0, max - n), over: Math.max(0, n - max) };
        text.textContent = fill(counter.getAttribute(now === "over" ? "data-msg-over" : now === "near" ? "data-msg-near" : "data-msg-count"), values);
        counter.classList.toggle("near", now === "near");
        counter.classList.toggle("over", now === "over");
        field.setCustomValidity(now === "over" ? fill(counter.getAttribute("data-msg-over"), values) : "");
        if (now === "over") { field.setAttribute("aria-invalid", "true"); } else if (!field.hasAttribute("data-server-invalid")) { field.removeAttribute("aria-invalid"); }
        // Said once when the state changes, not on every keystroke.
        if (state && now !== last) { state.textContent = now === "ok" ? "" : text.textContent; }
        last = now;
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

  // --- photos: count, size and type checked before anything is uploaded ----------------------
  // The limits are the server's (appeals.images, the settings), rendered into data- attributes;
  // the server checks every photo again. A photo that cannot go is taken out of the choice
  // and named; the others stay chosen.
  function photos() {
    var input = document.getElementById("id_photos");
    var box = document.getElementById("photo-check");
    if (!input || !box) return;
    var maxCount = parseInt(input.getAttribute("data-max-count") || "0", 10);
    var maxBytes = parseInt(input.getAttribute("data-max-bytes") || "0", 10);
    var types = (input.getAttribute("data-types") || "").split(",").filter(Boolean);
    function show(messages, blocked) {
      box.innerHTML = "";
      messages.forEach(function (m) { var li = document.createElement("li"); li.textContent = m; box.appendChild(li); });
      box.hidden = messages.length === 0;
      if (blocked) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    }
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || []), keep = [], messages = [];
      files.forEach(function (file) {
        if (types.length && types.indexOf(file.type) < 0) {
          messages.push(fill(input.getAttribute("data-msg-type"), { name: file.name }));
        } else if (maxBytes && file.size > maxBytes) {
          messages.push(fill(input.getAttribute("data-msg-size"), { name: file.name }));
        } else {
          keep.push(file);
        }
      });
      if (maxCount && keep.length > maxCount) {
        messages.push(fill(input.getAttribute("data-msg-count"), { n: maxCount, m: keep.length }));
      }
      var blocked = messages.length > 0;
      if (blocked && keep.length <= maxCount) {
        // Keep the good photos: the refused ones leave the selection (DataTransfer, where the
        // browser has it); otherwise the whole choice is refused until it is made again.
        try {
          var transfer = new DataTransfer();
          keep.forEach(function (f) { transfer.items.add(f); });
          input.files = transfer.files;
          blocked = false;
          if (keep.length) { messages.push(fill(input.getAttribute("data-msg-kept"), { n: keep.length })); }
        } catch (e) { blocked = true; }
      }
      input.setCustomValidity(blocked ? messages.join(" ") : "");
      show(messages, blocked);
      if (blocked) { input.reportValidity(); }
    });
  }

  // --- the place cascade: street → community → building ------------------------------------------
  // Each list loads with htmx (submit.html): one load per list at a time, in the order asked
  // (hx-sync), every load carrying the choices made so far, and no picking from a list while
  // it reloads (hx-disabled-elt) — so no answer can replace a choice made after it was asked.
  // A place picked on the map (map.js, "gz:place-pick") is a choice made outside the lists:
  // the answers to loads asked before it are dropped (they would undo it), and the lists
  // reload for the pick, carrying it.
  function placeCascade() {
    var street = document.getElementById("id_street"), community = document.getElementById("id_community"),
      building = document.getElementById("id_building");
    if (!street || !community || !building || !window.htmx) return;
    var lists = [street, community, building], picks = 0, hintAfterPick = false;
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      if (lists.indexOf(event.detail.target) >= 0) { event.detail.xhr.gzPicks = picks; }
    });
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (lists.indexOf(event.detail.target) >= 0 && event.detail.xhr.gzPicks !== picks) {
        event.detail.shouldSwap = false;
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      // The duplicate hint reads the building list's change, once the list holds the pick.
      if (hintAfterPick && event.detail.target === building) {
        hintAfterPick = false;
        building.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    function setOption(select, item) {
      var value = item ? item.code : "";
      var found = Array.prototype.find.call(select.options, function (o) { return o.value === value; });
      if (!found && item) {
        found = document.createElement("option");
        found.value = item.code; found.textContent = item.label;
        select.appendChild(found);
      }
      select.value = value;
    }
    // A list that reloads is disabled, and a disabled list is not sent: a form sent then
    // would lose the place chosen. It waits for the lists and is sent when they have answered.
    var form = building.form, waiting = false, note = document.getElementById("place-loading");
    function loading() { return !!form.querySelector("select[data-disabled-by-htmx]"); }
    form.addEventListener("submit", function (event) {
      if (!loading()) return;
      event.preventDefault();
      waiting = true;
      if (note) { note.hidden = false; }
    });
    document.body.addEventListener("htmx:afterRequest", function () {
      if (!waiting || loading()) return;
      waiting = false;
      if (note) { note.hidden = true; }
      form.requestSubmit();
    });
    document.addEventListener("gz:place-pick", function (event) {
      var place = event.detail;
      picks += 1;
      setOption(street, place.street);
      setOption(community, place.community);
      setOption(building, place.building);
      var chosen = { street: street.value, community: community.value, building: building.value };
      hintAfterPick = true;
      // The values are given: a list still loading is disabled, and a disabled list is not sent.
      window.htmx.ajax("GET", building.getAttribute("hx-get"),
        { source: building, target: building, swap: "innerHTML", values: chosen });
      window.htmx.ajax("GET", street.getAttribute("hx-get"),
        { source: street, target: community, swap: "innerHTML", values: chosen });
    });
  }

  // --- after a server-side error: the first error in view, with the focus on its field -----------
  function firstError() {
    var form = document.querySelector("form[data-has-errors]");
    if (!form) return;
    var list = form.querySelector(".field-errors[data-for]");
    var field = list ? document.getElementById(list.getAttribute("data-for")) : null;
    var target = field && field.type !== "hidden" && !field.disabled && field.offsetParent !== null ? field : null;
    if (!target) {
      target = list || document.getElementById("form-errors");
      if (!target) return;
      target.setAttribute("tabindex", "-1");
    }
    // The label above the field, the field and its message in view; the focus on the field.
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }

  // --- 长者模式: larger text and tap targets, remembered by this browser ----------------------------
  // static/js/prefs.js applies the choice in <head>, before the first paint.
  function largeText() {
    var button = document.getElementById("large-text-toggle");
    if (!button) return;
    var root = document.documentElement;
    function show() { button.setAttribute("aria-pressed", root.classList.contains("gz-large") ? "true" : "false"); }
    button.hidden = false;
    show();
    button.addEventListener("click", function () {
      var on = !root.classList.contains("gz-large");
      root.classList.toggle("gz-large", on);
      try { window.localStorage.setItem("gz-large-text", on ? "1" : "0"); } catch (e) { /* private mode: this page only */ }
      show();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    largeText(); counters(); anonymous(); photos(); placeCascade(); firstError();
  });
})();
