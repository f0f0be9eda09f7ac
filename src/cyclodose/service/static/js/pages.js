/* cyclodose pages: progressive enhancement only (every form also works without it).
   - times shown in the user's locale
   - "add another" for repeated entries (conditions, co-medications)
   - the CSRF token on every htmx request
   - aria-invalid on fields whose error slot is filled after an htmx update */
(function () {
  "use strict";

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.localised) return;
      var iso = el.getAttribute("datetime");
      var d;
      if (el.dataset.kind === "naive") {
        // wall-clock time as entered: show it as is, formatted in the user's locale
        var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso);
        if (!m) return;
        d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
      } else {
        d = new Date(iso);
      }
      if (isNaN(d.getTime())) return;
      el.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      el.title = iso;
      el.dataset.localised = "1";
    });
  }

  function invalidFields(root) {
    root.querySelectorAll(".field-error").forEach(function (slot) {
      var bad = slot.textContent.trim() !== "";
      document.querySelectorAll('[aria-describedby~="' + slot.id + '"]').forEach(function (f) {
        if (bad) f.setAttribute("aria-invalid", "true"); else f.removeAttribute("aria-invalid");
      });
    });
  }

  function addAnother(button) {
    var list = document.getElementById(button.getAttribute("aria-controls"));
    if (!list) return;
    var rows = list.querySelectorAll(".entry");
    var last = rows[rows.length - 1];
    var copy = last.cloneNode(true);
    var input = copy.querySelector("input");
    var n = rows.length + 1;
    input.value = "";
    input.id = input.id.replace(/-\d+$/, "-" + n);
    var label = copy.querySelector("label");
    label.setAttribute("for", input.id);
    label.textContent = label.textContent.replace(/\d+$/, String(n));
    list.appendChild(copy);
    input.focus();
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target.closest("[data-add-entry]");
    if (t) { ev.preventDefault(); addAnother(t); }
  });

  document.addEventListener("htmx:configRequest", function (ev) {
    var token = document.body.dataset.csrf;
    if (token) ev.detail.headers["X-CSRF-Token"] = token;
  });

  document.addEventListener("htmx:afterSettle", function (ev) {
    localTimes(ev.detail.elt || document);
    invalidFields(document);
  });

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    invalidFields(document);
  });
})();
