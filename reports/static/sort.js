/* Sortable tables without a server: click a column header to sort by it, click again to reverse.
 * Each cell may carry data-sort (the raw number or text); empty means "no value", and such rows
 * always go last, whichever the direction, so a missing FID never looks like the best one.
 * Headers with data-type="num" compare numerically; data-best="high" columns (IS) sort
 * descending on the first click, so the first click always puts the best value on top. */
(function () {
  "use strict";

  function sortKey(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var raw = cell.getAttribute("data-sort");
    return raw === null ? cell.textContent.trim() : raw;
  }

  function sortTable(table, index, header) {
    var numeric = header.getAttribute("data-type") === "num";
    var current = header.getAttribute("aria-sort");
    var ascending = current ? current !== "ascending" : header.getAttribute("data-best") !== "high";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, position) {
      var key = sortKey(row, index);
      return {row: row, position: position, missing: key === "", key: numeric ? parseFloat(key) : key};
    });
    rows.sort(function (a, b) {
      if (a.missing !== b.missing) return a.missing ? 1 : -1;
      var order = 0;
      if (!a.missing) {
        if (numeric) order = a.key - b.key;
        else order = a.key.localeCompare(b.key, undefined, {numeric: true, sensitivity: "base"});
      }
      if (!ascending) order = -order;
      return order !== 0 ? order : a.position - b.position;  // stable: equal keys keep their order
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function makeSortable(table) {
    if (!table.tHead || !table.tBodies.length) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      if (header.getAttribute("data-type") === "none") return;
      // A button, so the header is reachable and operable from the keyboard.
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (header.firstChild) button.appendChild(header.firstChild);
      header.appendChild(button);
      button.addEventListener("click", function () { sortTable(table, index, header); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  });
})();
