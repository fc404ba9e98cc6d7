// The language menu submits itself (a script file, not an inline handler, so a strict CSP allows it).
(function () {
  var select = document.getElementById("lang-select");
  if (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  }
})();
