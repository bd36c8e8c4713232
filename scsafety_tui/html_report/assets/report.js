(function () {
  "use strict";
  var form = document.getElementById("filters");
  var table = document.getElementById("matrix-table");
  if (!form || !table) { return; }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var cat = document.getElementById("f-cat"), sub = document.getElementById("f-sub");
  var checks = { unsafe: document.getElementById("f-unsafe"), flip: document.getElementById("f-flip"),
                 disagree: document.getElementById("f-disagree") };
  var full = document.getElementById("f-full"), count = document.getElementById("f-count");
  function apply() {
    // a sub-dimension of another category cannot be chosen with a category
    Array.prototype.forEach.call(sub.options, function (o) {
      o.hidden = Boolean(o.value && cat.value && o.dataset.cat !== cat.value);
    });
    if (sub.selectedOptions.length && sub.selectedOptions[0].hidden) { sub.value = ""; }
    var shown = 0;
    rows.forEach(function (r) {
      var ok = (!cat.value || r.dataset.cat === cat.value) && (!sub.value || r.dataset.sub === sub.value);
      Object.keys(checks).forEach(function (k) { if (checks[k].checked && !r.dataset[k]) { ok = false; } });
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    table.classList.toggle("full", full.checked);
    count.textContent = shown + " / " + rows.length + " items shown";
  }
  // an answer cut by the cell's height says so, and opens on a click
  Array.prototype.forEach.call(table.querySelectorAll(".ans"), function (a) {
    if (a.scrollHeight > a.clientHeight + 1) {
      a.classList.add("clipped");
      a.addEventListener("click", function () { a.classList.add("open"); });
    }
  });
  form.addEventListener("change", apply);
  form.addEventListener("reset", function () { setTimeout(apply, 0); });
  form.hidden = false;
  apply();
}());
