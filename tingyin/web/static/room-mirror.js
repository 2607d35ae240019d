// The agent's desk beside the call in the listening room (工单草稿): the ticket draft as the
// agent types it, the order they picked on their card, where they look and their softphone's
// mute and hold. Read-only, state sync (not video): GET /api/room/mirror/{agent} when the panel
// opens, then DeskMirror events from /ws/events. Drawn with textContent only: the agent types
// what callers said.
import { formatClock, t } from "./i18n.js";

// This panel's own texts (the ticket form's field names come from i18n.js).
const TEXTS = {
  zh: {
    title: "工单草稿", none: "坐席还没有填写工单", prefilled: "系统预填", editing: "坐席编辑中",
    submitting: "正在提交…", submitted: "已提交 {no}", failed: "提交失败", muted: "坐席已静音",
    held: "保持中", otherCall: "坐席正在查看另一通电话", search: "坐席正在查询",
    noDescription: "（未填写）", updated: "{t} 更新",
  },
  en: {
    title: "Ticket draft", none: "The agent has not started a ticket", prefilled: "Prefilled",
    editing: "Agent typing", submitting: "Submitting…", submitted: "Submitted {no}",
    failed: "Submit failed", muted: "Agent muted", held: "On hold",
    otherCall: "The agent is looking at another call", search: "The agent is searching",
    noDescription: "(empty)", updated: "updated {t}",
  },
};

const desks = new Map(); // agent_id → { call_id, at, draft }: the latest of each agent's desk
let http = null;
let meta = null; // GET /api/tickets/meta: the categories' and parties' labels

const uiLang = () => (document.documentElement.lang.startsWith("en") ? "en" : "zh");

function m(key, values = null) {
  const text = TEXTS[uiLang()][key] ?? TEXTS.zh[key] ?? key;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function metaLabel(list, code) {
  const found = (list || []).find((item) => item.code === code);
  return found ? found[uiLang()] || code : code;
}

// helpers: { api } (the page's fetch, which sends a lost login to the login page).
export function initMirror(helpers) {
  http = helpers;
  loadMeta().catch(console.error);
}

async function loadMeta() {
  const response = await http.api("/api/tickets/meta");
  if (response.ok) meta = await response.json();
}

// Newer news only: a reply can arrive after the event of a later change.
function keep(agentId, desk) {
  const held = desks.get(agentId);
  if (held && held.call_id === desk.call_id && Date.parse(held.at) > Date.parse(desk.at)) return;
  desks.set(agentId, desk);
}

export async function loadMirror(agentId) {
  if (!agentId || !http) return;
  const response = await http.api(`/api/room/mirror/${encodeURIComponent(agentId)}`);
  if (!response.ok) return;
  const body = await response.json();
  if (body.draft) keep(agentId, { call_id: body.call_id, at: body.at, draft: body.draft });
  else desks.delete(agentId);
}

export function mirrorEvent(e) {
  keep(e.agent_id, { call_id: e.call_id, at: e.at, draft: e.draft });
}

// The call is over for everyone (callId), or for one agent (agentId: a transfer, a new call).
export function dropMirror(callId, agentId = null) {
  for (const [agent, desk] of desks) {
    if (desk.call_id === callId && (agentId == null || agent === agentId)) desks.delete(agent);
  }
}

// The order the agent has on their card, when the mirror knows it (else the screen pop's first).
export function mirroredOrderNo(agentId, callId) {
  const desk = desks.get(agentId);
  return desk && desk.call_id === callId ? desk.draft.shown_order_no || null : null;
}

function statusText(draft) {
  if (draft.status === "submitted") return m("submitted", { no: draft.ticket_number });
  if (draft.status !== "editing") return m(draft.status);
  return m(draft.edited ? "editing" : "prefilled");
}

function field(list, testid, name, value) {
  const dd = el("dd", "", value);
  dd.dataset.testid = testid;
  list.append(el("dt", "", name), dd);
  return dd;
}

// Draw the agent's desk into box. callId: the call the panel shows (null: the agent's tile
// without a call the room knows of); ended: that call is over (its draft went with it).
export function drawMirror(box, agentId, callId, ended = false) {
  const desk = desks.get(agentId);
  const mine = desk && (!callId || desk.call_id === callId) ? desk : null;
  box.hidden = !agentId || ended || (!callId && !mine);
  box.replaceChildren();
  if (box.hidden) return;
  const head = el("h3", "rm-subtitle rm-draft-head", m("title"));
  box.append(head);
  if (!mine) {
    box.append(el("p", "rm-muted", m("none")));
    return;
  }
  const draft = mine.draft;
  const status = el("span", "rm-chip rm-draft-status", statusText(draft));
  status.dataset.status = draft.status;
  status.dataset.testid = "draft-status";
  head.append(status);
  const keys = el("div", "rm-draft-keys");
  if (draft.muted) keys.append(el("span", "rm-chip rm-held", m("muted")));
  if (draft.held) keys.append(el("span", "rm-chip rm-held", m("held")));
  if (draft.viewing !== "call") {
    const where = draft.viewing === "search" ? "search" : "otherCall";
    keys.append(el("span", "rm-chip rm-flag", m(where)));
  }
  if (keys.childElementCount) box.append(keys);
  const list = el("dl", "rm-draft-fields");
  const category = metaLabel(meta?.categories, draft.category) || "—";
  const party = draft.responsible_party
    ? metaLabel(meta?.parties, draft.responsible_party) : t("ticket.partyAuto");
  field(list, "draft-category", t("ticket.category"), category);
  field(list, "draft-order", t("ticket.order"), draft.order_no || t("ticket.noOrder"));
  field(list, "draft-party", t("ticket.party"), party);
  const text = draft.description || m("noDescription");
  field(list, "draft-description", t("ticket.description"), text).className = "rm-draft-text";
  box.append(list);
  const at = m("updated", { t: formatClock(mine.at) });
  if (mine.at) box.append(el("p", "rm-muted rm-draft-at", at));
}
