// The agent's own state on the desk (就绪 / 示忙 / 离线): the chip with the time in state, the
// three buttons and the reason picker of 示忙.
// The server keeps the state: the page shows the stored state on login (first time: offline),
// changes it through the API and follows AgentStateChanged for this user (the ACD rings,
// connects …). The page hands in its fetch helpers (they send a lost login to the login page)
// and calls setAgent for its own user's events, loadAgentState when it (re)connects, tickAgent
// every second and drawAgentState after a language switch.
import { formatSeconds, has, t } from "./i18n.js";

const AGENT_BUSY = new Set(["ringing", "on_call"]); // only the system moves the agent on
let agent = null; // GET /api/agents/me, then updated by replies and events
let clockSkew = 0; // the server's clock minus this browser's, ms (for the time in state)
let agentPending = false;
let agentError = "";
let http = null; // { api, postJson, errorText } from the page
let changed = () => {}; // the page's hook: the agent's state (or call) changed

const $ = (id) => document.getElementById(id);

function uiLang() {
  return document.documentElement.lang.startsWith("en") ? "en" : "zh";
}

function stateLabel(state) {
  return state && has(`agentState.${state}`) ? t(`agentState.${state}`) : state || "—";
}

function reasonLabel(code) {
  const found = (agent?.reasons || []).find((r) => r.code === code);
  if (found) return found[uiLang()];
  return has(`agentReason.${code}`) ? t(`agentReason.${code}`) : code;
}

// The agent as the page knows it ({ state, reason, since, call_id, reasons }), or null before
// the first answer from /api/agents/me.
export function currentAgent() {
  return agent;
}

// Newer news only: a reply can arrive after the event of a later change (the ACD was quick).
export function setAgent(fields, serverNow = null) {
  if (serverNow) clockSkew = Date.parse(serverNow) - Date.now();
  // An event without its time: it happened now (a reply from /me without one: never changed).
  const sinceIso = fields.since ?? (serverNow ? null : new Date(Date.now() + clockSkew).toISOString());
  const since = sinceIso ? Date.parse(sinceIso) : null;
  if (agent?.since && since != null && since < Date.parse(agent.since)) return;
  agent = {
    ...(agent || {}),
    state: fields.state,
    reason: fields.reason || "",
    since: sinceIso,
    call_id: fields.call_id || null,
    ...(fields.reasons ? { reasons: fields.reasons } : {}),
  };
  drawAgentState();
  changed(agent);
}

export async function loadAgentState() {
  try {
    const response = await http.api("/api/agents/me");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    agent = null; // the store's word replaces what the page thought
    setAgent(body, body.now);
  } catch (error) {
    console.error(error);
  }
}

async function changeState(state, reason = "") {
  closeBusyMenu();
  if (!agent || agentPending) return;
  agentPending = true;
  agentError = "";
  drawAgentState();
  try {
    const response = await http.postJson("/api/agents/me/state", reason ? { state, reason } : { state });
    const body = await response.json().catch(() => ({}));
    if (response.ok) setAgent(body, body.now);
    else agentError = http.errorText(body, response);
  } catch (error) {
    console.error(error);
    agentError = t("agent.network");
  }
  agentPending = false;
  drawAgentState();
}

export function tickAgent() {
  const since = agent?.since ? Date.parse(agent.since) - clockSkew : null;
  $("state-timer").textContent = since == null ? "" : formatSeconds(Math.max(0, Date.now() - since) / 1000);
}

export function drawAgentState() {
  const state = agent?.state || "offline";
  const reason = state === "not_ready" ? agent?.reason || "" : "";
  $("agent-state").dataset.state = state;
  const chip = $("state-chip");
  chip.dataset.state = state;
  chip.dataset.reason = reason;
  $("state-label").textContent = reason ? reasonLabel(reason) : stateLabel(state);
  const locked = !agent || agentPending || AGENT_BUSY.has(state);
  const buttons = { "state-ready": "ready", "state-busy": "not_ready", "state-offline": "offline" };
  for (const [id, target] of Object.entries(buttons)) {
    const button = $(id);
    button.disabled = locked || (target === state && target !== "not_ready");
    button.setAttribute("aria-pressed", String(target === state));
  }
  $("busy-menu").replaceChildren(...(agent?.reasons || []).map((r) => {
    const item = document.createElement("button");
    item.className = "busy-reason";
    item.textContent = r[uiLang()];
    item.type = "button";
    item.setAttribute("role", "menuitemradio");
    item.setAttribute("aria-checked", String(r.code === reason));
    item.dataset.reason = r.code;
    item.addEventListener("click", () => changeState("not_ready", r.code));
    return item;
  }));
  if (locked) closeBusyMenu();
  const error = $("state-error");
  error.hidden = !agentError;
  error.textContent = agentError ? t("agent.failed", { error: agentError }) : "";
  tickAgent();
}

function closeBusyMenu() {
  $("busy-menu").hidden = true;
  $("state-busy").setAttribute("aria-expanded", "false");
}

// helpers: { api, postJson, errorText } (the page's); onChange(agent): after every change.
export function bindAgentState(helpers, onChange = () => {}) {
  http = helpers;
  changed = onChange;
  $("state-ready").addEventListener("click", () => changeState("ready"));
  $("state-offline").addEventListener("click", () => changeState("offline"));
  $("state-busy").addEventListener("click", (event) => {
    event.stopPropagation();
    const menu = $("busy-menu");
    menu.hidden = !menu.hidden;
    $("state-busy").setAttribute("aria-expanded", String(!menu.hidden));
    if (!menu.hidden) menu.querySelector("button")?.focus();
  });
  document.addEventListener("click", (event) => {
    if (!$("busy-menu").hidden && !event.target.closest?.(".state-busy")) closeBusyMenu();
  });
  $("busy-menu").addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      closeBusyMenu();
      $("state-busy").focus();
    }
  });
  drawAgentState();
}
