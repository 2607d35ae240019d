// The header's account corner, the same on every page: who is logged in, and logging out.
import { t } from "./i18n.js";

export function drawAccount(me) {
  document.getElementById("user-name").textContent = me.display_name || me.username;
  document.getElementById("user-role").textContent = t(`role.${me.role}`);
  // Links to pages a role may not open (data-roles="supervisor qa admin") are not offered.
  for (const link of document.querySelectorAll("[data-roles]")) {
    link.hidden = !link.dataset.roles.split(/\s+/).includes(me.role);
  }
}

async function logout(event) {
  event.preventDefault();
  try {
    await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin" });
  } finally {
    location.replace("/login");
  }
}

export function bindLogout() {
  document.getElementById("logout").addEventListener("click", logout);
}
