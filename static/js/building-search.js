/* The building search on the intake and patrol forms (templates/appeals/staff/intake.html):
   searching never submits the form. Enter in the search field and the 搜索 button ask
   htmx for the results in place (the field's "search" trigger), so what was typed, the
   photo chosen and the CSRF token stay in the form and out of the URL. */
(function () {
  "use strict";
  function search(field) {
    if (window.htmx) { window.htmx.trigger(field, "search"); }
  }
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key === "Enter" && field.matches && field.matches("[data-building-search]")) {
      event.preventDefault();
      search(field);
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-search-for]");
    if (!button) { return; }
    event.preventDefault();
    var field = document.getElementById(button.getAttribute("data-search-for"));
    if (field) { search(field); }
  });
})();
