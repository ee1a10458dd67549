// /account: a Copy button for the token shown once (the field works without it).
(function () {
  "use strict";
  var button = document.getElementById("copy-token");
  if (!button) return;
  var field = document.getElementById(button.getAttribute("data-target"));
  var status = document.getElementById("copy-status");
  field.addEventListener("focus", function () { field.select(); });
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    field.select();
    navigator.clipboard.writeText(field.value).then(
      function () { status.textContent = "Copied. Store it somewhere safe: it is not shown again."; },
      function () { status.textContent = "Copying was refused: select the field and press Ctrl+C."; }
    );
  });
})();
