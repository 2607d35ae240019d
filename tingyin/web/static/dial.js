// Calls the agent starts from the desk: a call out to a customer (外呼, POST /api/calls/outbound:
// the agent's phone or softphone and the customer's phone ring, and they talk once both
// answer) and a 3-way call (三方通话, POST /api/calls/{id}/parties: the merchant or the rider is
// rung into the call on the screen). Numbers are typed; the server answers with them masked.
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let http = null; // { api, postJson, errorText } from the page
let partyCall = null; // the call the 3-way form would add a party to

export async function bindDial(helpers) {
  http = helpers;
  $("party-open").addEventListener("click", () => {
    const form = $("party-form");
    form.hidden = !form.hidden;
    $("party-open").setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) $("party-number").focus();
  });
  $("party-form").addEventListener("submit", addParty);
  $("dial-form").addEventListener("submit", dialOut);
  const reply = await http.api("/api/agents/me");
  if (!reply.ok) return;
  const me = await reply.json();
  $("dial-form").hidden = !me.phone_uri; // nothing to call from
}

async function dialOut(event) {
  event.preventDefault();
  const input = $("dial-number");
  const number = input.value.trim();
  if (!number) return;
  await send("/api/calls/outbound", { number }, $("dial-status"), (body) => {
    input.value = "";
    return t("dial.calling", { number: body.number });
  });
}

async function addParty(event) {
  event.preventDefault();
  if (!partyCall) return;
  const input = $("party-number");
  const number = input.value.trim();
  if (!number) return;
  await send(`/api/calls/${partyCall}/parties`, { number }, $("party-status"), (body) => {
    input.value = "";
    return t("party.calling", { number: body.number });
  });
}

async function send(path, body, status, said) {
  status.hidden = false;
  status.classList.remove("error");
  status.textContent = t("dial.sending");
  try {
    const response = await http.postJson(path, body);
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      status.classList.add("error");
      status.textContent = http.errorText(answer, response);
      return;
    }
    status.textContent = said(answer);
  } catch (error) {
    status.classList.add("error");
    status.textContent = t("agent.network");
  }
}

// The 3-way button shows while the agent talks on the call on screen (as 转接 does).
export function drawParty(callId, canAdd) {
  partyCall = canAdd ? callId : null;
  $("party-open").hidden = !canAdd;
  if (!canAdd) {
    $("party-form").hidden = true;
    $("party-status").hidden = true;
    $("party-open").setAttribute("aria-expanded", "false");
  }
}
