/* Sortable tables: each column header is a button; numbers sort by value, text alphabetically. */
(function () {
  "use strict";
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th) {
      var button = th.querySelector("button");
      button.addEventListener("click", function () {
        var col = Number(button.getAttribute("data-col"));
        var dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
        heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var vx = x.hasAttribute("data-value") ? Number(x.getAttribute("data-value")) : x.textContent;
          var vy = y.hasAttribute("data-value") ? Number(y.getAttribute("data-value")) : y.textContent;
          var c = typeof vx === "number" && typeof vy === "number" ? vx - vy : String(vx).localeCompare(String(vy));
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
