/* Flask-Social-Auth: the "your handle or website" field. social_auth.js opens the button's
   data-popup-url in a popup (or posts the form when popups are blocked); this keeps that URL
   carrying what was typed, and makes Enter in the field press that button, not the form's. */
(function () {
  "use strict";

  function wire(root) {
    var input = root.querySelector("input[name='handle']");
    var button = root.querySelector(".sa-handle-go");
    if (!input || !button) return;
    var base = button.getAttribute("data-handle-popup");
    function update() {
      var url = new URL(base, location.href);
      url.searchParams.set("handle", input.value.trim());
      button.setAttribute("data-popup-url", url.pathname + url.search);
    }
    input.addEventListener("input", update);
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); update(); button.click(); }
    });
    update();
  }

  function init() {
    var roots = document.querySelectorAll("[data-social-auth] .sa-handle");
    for (var i = 0; i < roots.length; i++) wire(roots[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
