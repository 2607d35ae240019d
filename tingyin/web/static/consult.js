// Attended transfer (咨询转接) on the desk: the agent who started a consult sees its state (the
// colleague's phone rings, they talk, the customer hears hold music) with 完成转接 / 取消 buttons
// (POST /api/calls/{id}/consult/complete | cancel); the colleague consulted sees that the call
// on their screen is a consult. Fed by ConsultLeg events; drawn with textContent only.
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const LIVE = ["requested", "ringing", "answered"];
let http = null; // { postJson, errorText } from the page
let redraw = () => {};
let shown = null; // the call whose consult the bar shows

export function bindConsult(helpers, onChange) {
  http = helpers;
  redraw = onChange;
  $("consult-complete").addEventListener("click", () => act("complete"));
  $("consult-cancel").addEventListener("click", () => act("cancel"));
}

// A consult under way that I started: the transfer panel stays shut meanwhile.
export function consulting(call) {
  return LIVE.includes(call?.consult?.state);
}

// I asked for a consult (the server accepted): the bar shows until ConsultLeg says more.
export function consultRequested(call, agentName) {
  call.consult = { state: "requested", agentName, reason: "", pending: false, error: "" };
}

// ConsultLeg for a consult I started (``from_agent`` is me). Once the colleague has the
// customer, returns { agentName } (the page marks the call transferred); else null.
export function myConsultEvent(call, e) {
  const agentName = call.consult?.agentName || "";
  if (e.state === "completed") {
    call.consult = null;
    return { agentName };
  }
  call.consult = { state: e.state, agentName, reason: e.reason, pending: false, error: "" };
  return null;
}

// ConsultLeg where I am the colleague consulted.
export function consultedEvent(call, e) {
  call.consult = ["ringing", "answered"].includes(e.state)
    ? { state: "consulted", agentName: "", reason: "", pending: false, error: "" }
    : null;
}

export function drawConsult(call) {
  const c = call?.consult ?? null;
  shown = c ? call : null;
  const bar = $("consult-bar");
  bar.hidden = !c;
  if (!c) return;
  bar.dataset.state = c.state;
  const live = LIVE.includes(c.state);
  const key = c.state === "failed" ? "consult.failed" : `consult.${c.state}`;
  $("consult-status").textContent = t(key, { name: c.agentName || t("consult.colleague") });
  const complete = $("consult-complete");
  const cancel = $("consult-cancel");
  complete.hidden = cancel.hidden = !live;
  complete.disabled = c.pending || c.state !== "answered";
  cancel.disabled = c.pending || c.state === "requested";
  const error = $("consult-error");
  error.hidden = !c.error;
  error.textContent = c.error ? t("consult.error", { error: c.error }) : "";
}

async function act(action) {
  const call = shown;
  const c = call?.consult;
  if (!c || c.pending || !LIVE.includes(c.state)) return;
  Object.assign(c, { pending: true, error: "" });
  redraw();
  try {
    const response = await http.postJson(
      `/api/calls/${encodeURIComponent(call.id)}/consult/${action}`, {},
    );
    if (!response.ok) {
      c.error = http.errorText(await response.json().catch(() => ({})), response);
    }
  } catch (error) {
    console.error(error);
    c.error = t("transfer.network");
  }
  c.pending = false;
  redraw();
}
