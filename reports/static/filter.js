/* Filters without a server, beside sort.js: a form with data-table="<id>" narrows that table's rows by
 * the row's data-* attributes (search text, year range, category, source list, status); checkboxes
 * with class verdict-filter show or hide the reproduction view's rows by verdict. Rows are only
 * hidden, never removed, so sorting and filtering compose in any order. */
(function () {
  "use strict";

  function matches(row, form) {
    var words = form.elements.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var text = row.getAttribute("data-search") || "";
    for (var i = 0; i < words.length; i++) if (text.indexOf(words[i]) < 0) return false;
    var year = parseInt(row.getAttribute("data-year"), 10);
    if (year < parseInt(form.elements["year-from"].value, 10)) return false;
    if (year > parseInt(form.elements["year-to"].value, 10)) return false;
    var category = form.elements.category.value, status = form.elements.status.value;
    var source = form.elements.source.value;
    if (category && row.getAttribute("data-category") !== category) return false;
    if (status && row.getAttribute("data-status") !== status) return false;
    if (source && (row.getAttribute("data-sources") || "").indexOf(" " + source + " ") < 0) return false;
    return true;
  }

  function apply(form) {
    var table = document.getElementById(form.getAttribute("data-table"));
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var shown = 0;
    rows.forEach(function (row) {
      var keep = matches(row, form);
      row.hidden = !keep;
      if (keep) shown++;
    });
    form.querySelector(".match-count").textContent = shown + " of " + rows.length + " papers";
    var empty = document.querySelector(".empty-filter");
    if (empty) empty.hidden = shown !== 0;
  }

  function applyVerdicts() {
    var wanted = {};
    Array.prototype.forEach.call(document.querySelectorAll("input.verdict-filter"), function (box) {
      wanted[box.value] = box.checked;
    });
    Array.prototype.forEach.call(document.querySelectorAll("tr[data-verdict]"), function (row) {
      row.hidden = !wanted[row.getAttribute("data-verdict")];
    });
    Array.prototype.forEach.call(document.querySelectorAll("section.paper-cells"), function (section) {
      section.hidden = !section.querySelector("tr[data-verdict]:not([hidden])");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.filters[data-table]"), function (form) {
      form.addEventListener("input", function () { apply(form); });
      form.addEventListener("change", function () { apply(form); });
      // A reset restores the controls after the event: filter once they hold their defaults.
      form.addEventListener("reset", function () { setTimeout(function () { apply(form); }, 0); });
      apply(form);
    });
    var boxes = document.querySelectorAll("input.verdict-filter");
    Array.prototype.forEach.call(boxes, function (box) { box.addEventListener("change", applyVerdicts); });
    if (boxes.length) applyVerdicts();  // without script every row shows; with it, the boxes' defaults apply
  });
})();
