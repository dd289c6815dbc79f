"use strict";
// The login form: POST /api/login (JSON), then the service page.
document.addEventListener("DOMContentLoaded", async () => {
  await I18N.init(document.getElementById("language"));
  const t = I18N.t;
  const params = new URLSearchParams(location.search);
  const note = document.getElementById("login-note");
  if (params.has("expired")) { note.textContent = t("login.expired"); note.hidden = false; }
  if (params.has("out")) { note.textContent = t("login.logged_out"); note.hidden = false; }
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async event => {
    event.preventDefault();
    error.hidden = true;
    const button = document.getElementById("login-button");
    button.disabled = true;
    try {
      const response = await fetch("/api/login", {
        method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({role: form.role.value, password: form.password.value}),
      });
      if (response.ok) { location.replace("/"); return; }
      const body = await response.json().catch(() => ({}));
      const known = t(`error.${body.code}`, {seconds: body.retry_after_s ?? ""});
      error.textContent = known === `error.${body.code}` ? (body.error || response.statusText) : known;
      error.dataset.code = body.code || "";
      error.hidden = false;
      form.password.value = "";
      form.password.focus();
    } finally {
      button.disabled = false;
    }
  });
});
