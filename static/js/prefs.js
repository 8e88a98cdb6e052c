/* 共治 · residents' pages: the reader's display choice (长者模式), applied in <head> before the
   first paint, so a page never flashes small first. No inline script: the CSP forbids it.
   static/js/public.js offers the switch and stores the choice. */
(function () {
  "use strict";
  try {
    if (window.localStorage.getItem("gz-large-text") === "1") { document.documentElement.classList.add("gz-large"); }
  } catch (e) { /* storage refused (private mode): the normal size */ }
})();
