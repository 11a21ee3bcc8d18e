// The class overview's grid: sort by any column, filter by text, status and histogram bin.
// It reads the page's own attributes and sets only classes, attributes and textContent: no HTML is built.
(function () {
  "use strict";
  var table = document.getElementById("grid-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var search = document.getElementById("grid-filter");
  var shown = document.getElementById("grid-shown");
  var binButton = document.getElementById("grid-bin");
  var statusButtons = Array.prototype.slice.call(document.querySelectorAll(".status-filter button"));
  var bins = Array.prototype.slice.call(document.querySelectorAll(".hbin"));
  var state = { text: "", status: "", bin: null };

  function key(row, column) {
    var cell = row.cells[column];
    return cell ? (cell.getAttribute("data-sort") || cell.textContent) : "";
  }

  function sortBy(column) {
    var header = headers[column];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var numeric = rows.every(function (row) { var k = key(row, column); return k !== "" && !isNaN(Number(k)); });
    rows.sort(function (a, b) {
      var x = key(a, column), y = key(b, column);
      var order = numeric ? Number(x) - Number(y) : x.localeCompare(y, undefined, { sensitivity: "base" });
      if (order === 0) { order = key(a, 0).localeCompare(key(b, 0)); }
      return ascending ? order : -order;
    });
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function apply() {
    var text = state.text.trim().toLowerCase();
    var count = 0;
    rows.forEach(function (row) {
      var who = (row.getAttribute("data-id") + " " + row.getAttribute("data-name")).toLowerCase();
      var statuses = row.getAttribute("data-statuses").split(" ");
      var visible = (!text || who.indexOf(text) !== -1)
        && (!state.status || statuses.indexOf(state.status) !== -1)
        && (state.bin === null || row.getAttribute("data-bin") === state.bin);
      row.classList.toggle("hidden", !visible);
      count += visible ? 1 : 0;
    });
    shown.textContent = count + " of " + rows.length + " shown";
    bins.forEach(function (bar) { bar.classList.toggle("selected", bar.getAttribute("data-bin") === state.bin); });
    binButton.hidden = state.bin === null;
    if (state.bin !== null) {
      var bar = bins.filter(function (b) { return b.getAttribute("data-bin") === state.bin; })[0];
      binButton.textContent = "scoring " + bar.getAttribute("data-label") + " \u00d7 show every score";
    }
  }

  headers.forEach(function (header, column) {
    var button = header.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(column); }); }
  });
  search.addEventListener("input", function () { state.text = search.value; apply(); });
  statusButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      state.status = button.getAttribute("data-status");
      statusButtons.forEach(function (b) { b.setAttribute("aria-pressed", b === button ? "true" : "false"); });
      apply();
    });
  });
  bins.forEach(function (bar) {
    bar.addEventListener("click", function () {
      var bin = bar.getAttribute("data-bin");
      state.bin = state.bin === bin ? null : bin;
      apply();
    });
  });
  binButton.addEventListener("click", function () { state.bin = null; apply(); });
  apply();
})();
