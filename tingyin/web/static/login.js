// Posts the OAuth2 password form; the response sets the HttpOnly cookie the pages use, so
// the token itself is not kept by this script.
import { applyTranslations, bindLangToggle, initLang, t } from "./i18n.js";

initLang();
applyTranslations();
bindLangToggle(document.getElementById("lang-toggle"));

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const submit = document.getElementById("login-submit");

function showError(key) {
  error.dataset.i18n = key;
  error.textContent = t(key);
  error.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!form.reportValidity()) return;
  error.hidden = true;
  submit.disabled = true;
  submit.textContent = t("login.busy");
  try {
    const response = await fetch("/api/auth/token", {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
    });
    if (response.ok) {
      // Agents work on the desk (screen pop); everyone else starts on the calls list.
      const body = await response.json();
      location.replace(body.role === "agent" ? "/desk" : "/");
      return;
    }
    showError(response.status === 401 ? "login.failed" : "login.error");
  } catch {
    showError("login.error");
  }
  submit.disabled = false;
  submit.textContent = t("login.submit");
  document.getElementById("password").select();
});
