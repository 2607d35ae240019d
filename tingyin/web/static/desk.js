// The agent desk: the ringing or current call's screen pop (caller, orders, suggestion), its live
// transcript, a form to record a ticket (工单) for the call, a search box, the transfer (转接) of
// a call the ACD connected me to, and the agent's own state (就绪 / 示忙 / 离线, in
// agent-state.js). Fed by /ws/events; after a reload, by the calls, context and agent APIs.
// Everything is drawn with textContent (never innerHTML): names, remarks and numbers come from
// customers and merchants.
import { followEvents } from "./live.js";
import { redrawSoftphone, startSoftphone } from "./softphone.js";
import { bindDial, drawParty } from "./dial.js";
import { bindMirror, mirrorChanged, mirrorNow } from "./desk-mirror.js";
import {
  bindConsult, consultRequested, consultedEvent, consulting, drawConsult, myConsultEvent,
} from "./consult.js";
import { bindLogout, drawAccount } from "./account.js";
import {
  bindAgentState, currentAgent, drawAgentState, loadAgentState, setAgent, tickAgent,
} from "./agent-state.js";
import {
  applyTranslations, bindLangToggle, formatClock, formatSeconds, has, initLang, t,
} from "./i18n.js";

const KEEP_ENDED = 8; // ended calls kept in the list, newest first
const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 };
// The screen pop's predicted reason → the ticket category the form starts with (else "other").
const REASON_CATEGORY = {
  late: "late", food_safety: "food_safety", quality: "quality", refund: "refund",
  cancelled: "late", missing_item: "missing_item",
};
const TICKET_CALL_ID = /^[0-9a-f]{8,64}$/; // the call ids the ticket API links (the hub's)

const calls = new Map(); // call id → the call as this page knows it (see newCall)
let shownId = null; // the call on screen
let pinned = false; // the agent picked the shown call: new calls do not take its place
let search = null; // { query, pending, kind, message, context, error } while a search shows
let shownOrderNo = null; // the order on the card, when the caller has several
let me = null;
const fetching = new Map(); // call id → its fetch from the API, while it runs
let ticketMeta = null; // GET /api/tickets/meta: categories, parties, statuses with labels
let ticketMetaFailed = false;
let ticketFormKey = ""; // which call, language and draft version the form's fields show
let transferQueues = null; // GET /api/queues: [{ name, zh, en }], loaded when first needed
let transferAgents = null; // GET /api/agents/available, then followed by AgentStateChanged
let transferLoadError = "";
let transferFormKey = ""; // which language and targets the transfer selects show

const $ = (id) => document.getElementById(id);

// -- small helpers ---------------------------------------------------------------------------
function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

// A label for a value the server sends (kind, status …); an unknown value shows as it is.
function label(prefix, value) {
  return value && has(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : value || "—";
}

function money(fen) {
  return fen == null ? "—" : `¥${(fen / 100).toFixed(2)}`;
}

// Mirrors tingyin.privacy.mask_number: '13812345678' → '138****5678'.
export function maskNumber(raw) {
  const digits = String(raw || "").trim();
  if (digits.length >= 7) return digits.slice(0, 3) + "*".repeat(digits.length - 7) + digits.slice(-4);
  if (digits.length > 2) return "*".repeat(digits.length - 2) + digits.slice(-2);
  return "*".repeat(digits.length);
}

// What the banner and the list show for the number: our own mask of the number the caller
// rang from while we have it (what their phone shows), else the screen pop's masked one.
function callerText(call, context) {
  if (call && /^\+?\d{3,}$/.test(call.caller || "")) return maskNumber(call.caller);
  return context?.caller || t("desk.withheld");
}

function uiLang() {
  return document.documentElement.lang.startsWith("en") ? "en" : "zh";
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) {
    location.replace("/login");
    throw new Error("not logged in");
  }
  return response;
}

function postJson(path, body) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

// The server's {"detail": …}: a sentence, or FastAPI's list of field errors.
function errorText(body, response) {
  const detail = body?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => d.msg).filter(Boolean).join("; ");
  return `HTTP ${response.status}`;
}

// -- the calls this page knows -----------------------------------------------------------------
function newCall(id, fields = {}) {
  return {
    id,
    caller: "", // raw, from CallRinging: only ever shown masked
    dialed: "",
    state: "ringing", // ringing | answered | ended
    startedAt: null,
    answeredAt: null,
    endedAt: null,
    reason: "",
    mine: false, // the ACD rings (or rang) my phone for it (AgentLeg for my id)
    connected: false, // my agent leg was answered: I talk to the caller
    transfer: null, // the transfer panel's state for this call (see newTransfer)
    consult: null, // an attended transfer's state on my side (see consult.js)
    context: null, // the latest CallerContextReady
    ticket: null, // the ticket form's draft for this call (see newDraft)
    createdTickets: [], // numbers of the tickets recorded on this call
    lines: [], // final transcript segments, in order
    partials: new Map(), // leg → words being spoken now
    transcriptLoaded: false,
    ...fields,
  };
}

function fromCdr(cdr) {
  return newCall(cdr.id, {
    caller: cdr.caller_number,
    dialed: cdr.dialed_number,
    state: cdr.ended_at ? "ended" : cdr.answered_at ? "answered" : "ringing",
    startedAt: cdr.started_at,
    answeredAt: cdr.answered_at,
    endedAt: cdr.ended_at,
    reason: cdr.end_reason || "",
  });
}

function byNewest(a, b) {
  return Date.parse(b.startedAt || 0) - Date.parse(a.startedAt || 0);
}

function active(call) {
  return call.state !== "ended";
}

function forgetOldCalls() {
  const ended = [...calls.values()].filter((c) => !active(c) && c.id !== shownId).sort(byNewest);
  for (const call of ended.slice(KEEP_ENDED)) calls.delete(call.id);
}

// The newest ringing or answered call takes the screen, unless the agent chose one that is
// still going on.
function follow(call) {
  const shown = calls.get(shownId);
  if (pinned && shown && active(shown)) return;
  pinned = false;
  if (shownId !== call.id) {
    shownId = call.id;
    shownOrderNo = null;
  }
  search = null;
}

function show(id) {
  shownId = id;
  shownOrderNo = null;
  pinned = true;
  search = null;
  const call = calls.get(id);
  if (call && !call.context) loadContext(call);
  if (call && call.state !== "ringing" && !call.transcriptLoaded) loadTranscript(call);
  drawAll();
}

async function loadContext(call) {
  try {
    const response = await api(`/api/calls/${encodeURIComponent(call.id)}/context`);
    if (!response.ok) return; // 404: no screen pop (yet); the event will bring it
    setContext(call, await response.json());
  } catch (error) {
    console.error(error);
  }
}

function setContext(call, context) {
  if (call.context && (call.context.revision ?? 0) > (context.revision ?? 0)) return;
  call.context = context;
  if (call.id === shownId) drawAll();
  else drawCallList();
}

async function loadTranscript(call) {
  call.transcriptLoaded = true;
  try {
    const response = await api(`/api/calls/${encodeURIComponent(call.id)}/transcript?format=json`);
    if (!response.ok) return;
    const body = await response.json();
    for (const segment of body.segments) addLine(call, segment);
    if (call.id === shownId) drawTranscript();
  } catch (error) {
    console.error(error);
  }
}

function addLine(call, segment) {
  const key = (s) => `${s.leg}|${Number(s.start).toFixed(2)}`;
  if (call.lines.some((line) => key(line) === key(segment))) return;
  call.lines.push({ leg: segment.leg, start: segment.start, text: segment.text });
  call.lines.sort((a, b) => a.start - b.start);
}

// A call we heard of by an event without seeing it ring (the page was opened mid-call).
// Events that arrive meanwhile wait for the same fetch, so none of them is lost.
function fetchCall(id) {
  if (!fetching.has(id)) {
    const load = (async () => {
      const response = await api(`/api/calls/${encodeURIComponent(id)}`);
      if (!response.ok) return null;
      const call = calls.get(id) ?? fromCdr(await response.json());
      calls.set(id, call);
      loadContext(call);
      return call;
    })().catch((error) => {
      console.error(error);
      return null;
    }).finally(() => fetching.delete(id));
    fetching.set(id, load);
  }
  return fetching.get(id);
}

async function loadActiveCalls() {
  try {
    const lists = await Promise.all(["ringing", "answered"].map(async (status) => {
      const response = await api(`/api/calls?status=${status}&limit=20`);
      return response.ok ? response.json() : [];
    }));
    for (const cdr of lists.flat()) {
      if (!calls.has(cdr.id)) calls.set(cdr.id, fromCdr(cdr));
    }
    const newest = [...calls.values()].filter(active).sort(byNewest)[0];
    if (newest && !calls.has(shownId)) follow(newest);
    await Promise.all([...calls.values()].filter((c) => active(c) && !c.context).map(loadContext));
    const shown = calls.get(shownId);
    if (shown && shown.state !== "ringing" && !shown.transcriptLoaded) loadTranscript(shown);
  } catch (error) {
    console.error(error);
  }
  drawAll();
}

// -- live events -----------------------------------------------------------------------------
async function withCall(id, change) {
  const call = calls.get(id) ?? (await fetchCall(id));
  if (!call) return;
  change(call);
  if (call.id === shownId) drawAll();
  else drawCallList();
}

const HANDLERS = {
  CallRinging(e) {
    const call = calls.get(e.call_id) ?? newCall(e.call_id);
    Object.assign(call, { caller: e.caller, dialed: e.dialed, startedAt: e.at });
    calls.set(call.id, call);
    follow(call);
    forgetOldCalls();
    drawAll();
  },
  CallerContextReady(e) {
    let call = calls.get(e.call_id);
    if (!call) {
      call = newCall(e.call_id, { startedAt: e.at });
      calls.set(call.id, call);
      follow(call);
    }
    setContext(call, e);
  },
  CallAnswered: (e) => withCall(e.call_id, (call) => {
    call.state = "answered";
    call.answeredAt = e.at;
  }),
  CallEnded: (e) => withCall(e.call_id, (call) => endCall(call, e.at, e.reason)),
  CallFailed: (e) => withCall(e.call_id, (call) => endCall(call, e.at, e.reason)),
  TranscriptFinal(e) {
    const call = calls.get(e.call_id);
    if (!call) return;
    call.partials.delete(e.leg);
    addLine(call, e);
    if (e.leg === "caller") quoteCaller(call, e.text);
    if (call.id === shownId) drawTranscript();
  },
  TranscriptPartial(e) {
    const call = calls.get(e.call_id);
    if (!call) return;
    if (e.text) call.partials.set(e.leg, e.text);
    else call.partials.delete(e.leg);
    if (call.id === shownId) drawTranscript();
  },
  AgentLeg(e) { // the ACD rings an agent's phone for this call: mine takes my screen
    const call = calls.get(e.call_id);
    if (!call || !me || e.agent_id !== me.id) return;
    if (["ringing", "answered", "held", "resumed"].includes(e.state)) {
      if (e.state === "ringing" && call.transfer?.done) call.transfer = null; // offered again
      call.mine = true;
      call.connected = e.state !== "ringing";
      pinned = false;
      follow(call);
    } else {
      call.mine = false; // rang out, or the call is over (transferred, hung up)
      call.connected = false;
    }
    drawAll();
  },
  AgentStateChanged(e) {
    if (me && e.user_id === me.id) setAgent(e);
    else followAvailable(e); // other agents: whom I may transfer to (and the supervisors' pages)
  },
  ConsultLeg(e) { // an attended transfer: one I started, or one where I am the colleague
    const call = calls.get(e.call_id);
    if (!call || !me) return;
    if (e.from_agent === me.id) {
      const handed = myConsultEvent(call, e);
      if (handed) call.transfer = { ...(call.transfer || newTransfer()), open: false, done: handed };
    } else if (e.agent_id === me.id) {
      consultedEvent(call, e);
      if (["ringing", "answered"].includes(e.state)) { // it rings my phone: it takes my screen
        call.mine = true;
        call.connected = e.state === "answered";
        pinned = false;
        follow(call);
      } else if (e.state !== "completed") { // over before I had the customer
        call.mine = false;
        call.connected = false;
      }
    } else return;
    drawAll();
  },
  dropped() { // the server's outbox overflowed: catch up from the store
    loadActiveCalls();
    loadAgentState();
  },
};

function endCall(call, at, reason) {
  call.state = "ended";
  call.endedAt = call.endedAt || at;
  call.reason = reason || call.reason;
  call.partials.clear();
  if (call.id === shownId) pinned = false;
}

function setLive(state) {
  const live = $("live");
  live.dataset.state = state;
  live.dataset.i18n = { open: "calls.live", closed: "calls.offline" }[state] ?? "calls.connecting";
  live.textContent = t(live.dataset.i18n);
}

// -- drawing: the list of calls ----------------------------------------------------------------
function callItem(call) {
  const li = el("li");
  const button = el("button", "call-item");
  button.type = "button";
  button.dataset.state = call.state;
  button.dataset.callId = call.id;
  const priority = call.context?.suggestion?.priority;
  if (priority) button.dataset.priority = priority;
  if (call.id === shownId && !search) button.setAttribute("aria-current", "true");
  button.addEventListener("click", () => show(call.id));

  const top = el("span", "call-item-top");
  top.append(
    el("span", "call-item-number", callerText(call, call.context)),
    el("span", "call-item-time", formatClock(call.startedAt)),
  );
  const context = call.context;
  const who = context
    ? [label("kind", context.caller_kind), context.name].filter(Boolean).join(" · ")
    : t("desk.lookingUp");
  const middle = el("span", "call-item-who", who);
  const bottom = el("span", "call-item-bottom");
  const state = el("span", "call-item-state", t(`state.${call.state}`));
  bottom.append(state);
  if (context?.suggestion) {
    bottom.append(el("span", "call-item-reason", context.suggestion.reason_label));
  }
  button.append(top, middle, bottom);
  li.append(button);
  return li;
}

function drawCallList() {
  const list = [...calls.values()];
  const ordered = [...list.filter(active).sort(byNewest), ...list.filter((c) => !active(c)).sort(byNewest)];
  $("call-list").replaceChildren(...ordered.map(callItem));
  $("calls-empty").hidden = ordered.length > 0;
  const running = list.filter(active).length;
  $("call-count").textContent = running ? String(running) : "";
}

// -- drawing: the caller banner --------------------------------------------------------------
function tag(text, className) {
  return el("span", `tag ${className}`, text);
}

function timerText(call) {
  if (call.state === "answered") return formatSeconds((Date.now() - Date.parse(call.answeredAt)) / 1000);
  if (call.state === "ringing") return formatSeconds((Date.now() - Date.parse(call.startedAt)) / 1000);
  if (call.answeredAt && call.endedAt) {
    return formatSeconds((Date.parse(call.endedAt) - Date.parse(call.answeredAt)) / 1000);
  }
  return "";
}

function drawBanner(call, context) {
  const banner = $("banner");
  const state = $("call-state");
  if (search) {
    banner.dataset.state = "search";
    state.textContent = t("desk.searchResult");
  } else {
    banner.dataset.state = call.state;
    const reason = call.state === "ended" && call.reason ? ` · ${label("end", call.reason)}` : "";
    state.textContent = t(`state.${call.state}`) + reason;
  }
  state.dataset.state = banner.dataset.state;

  $("caller-number").textContent = callerText(search ? null : call, context);
  const kind = $("caller-kind");
  kind.hidden = !context;
  kind.dataset.kind = context?.caller_kind || "";
  kind.textContent = context ? label("kind", context.caller_kind) : "";
  $("caller-name").textContent = context?.name || "";

  const flags = (context?.flags || []).map((flag) => tag(label("flag", flag), `tag-${flag}`));
  if (context?.via_binding) flags.push(tag(t("desk.viaBinding"), "tag-binding"));
  if (call?.mine && !search) flags.unshift(tag(t("desk.offeredToMe"), "tag-mine"));
  if (context?.calls_24h > 0) flags.push(tag(t("desk.calls24h", { n: context.calls_24h }), "tag-repeat"));
  $("caller-flags").replaceChildren(...flags);

  $("call-timer").textContent = call && !search ? timerText(call) : "";
  const meta = [];
  if (call?.dialed && !search) meta.push(t("desk.dialed", { dialed: call.dialed }));
  if (context?.ivr_path?.length && !search) {
    meta.push(t("desk.ivrPath", { path: context.ivr_path.join(" → ") })); // how they got here
  }
  if (context?.source) {
    meta.push(t("desk.source", { source: context.source, ms: Math.round(context.lookup_ms || 0) }));
  }
  $("caller-meta").textContent = meta.join(" · ");

  const note = $("context-note");
  if (context?.error) {
    note.textContent = t("desk.lookupFailed", { error: context.error });
    note.className = "context-note error";
    note.hidden = false;
  } else if (!context && !search) {
    note.textContent = t("desk.lookingUp");
    note.className = "context-note";
    note.hidden = false;
  } else {
    note.hidden = true;
  }
}

function drawSuggestion(context) {
  const box = $("suggestion");
  const suggestion = context?.suggestion;
  box.hidden = !suggestion;
  if (!suggestion) return;
  box.dataset.priority = suggestion.priority || "normal";
  $("suggestion-reason").textContent = suggestion.reason_label || label("reason", suggestion.reason);
  $("suggestion-remedy").textContent = suggestion.remedy_label || suggestion.remedy;
  const priority = $("suggestion-priority");
  priority.textContent = label("priority", suggestion.priority);
  priority.dataset.priority = suggestion.priority || "normal";
  const amount = $("suggestion-amount");
  amount.hidden = !suggestion.amount_fen;
  amount.textContent = suggestion.amount_fen ? t("desk.amount", { amount: money(suggestion.amount_fen) }) : "";
  const rule = $("suggestion-rule");
  rule.hidden = !suggestion.rule;
  rule.textContent = suggestion.rule ? t("desk.rule", { rule: suggestion.rule }) : "";
  $("suggestion-foot").hidden = !suggestion.amount_fen && !suggestion.rule;
}

// -- drawing: the order card -----------------------------------------------------------------
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// The remarks, with each flagged word in a red <strong class="flag">.
function remarkNodes(remarks, flagged) {
  const words = [...new Set(flagged || [])].filter(Boolean).sort((a, b) => b.length - a.length);
  if (!words.length) return [document.createTextNode(remarks)];
  const pattern = new RegExp(`(${words.map(escapeRegExp).join("|")})`, "g");
  return remarks.split(pattern).filter(Boolean).map((part) => (
    words.includes(part) ? el("strong", "flag", part) : document.createTextNode(part)
  ));
}

function fact(name, value, className = "") {
  const wrap = el("div", `fact ${className}`.trim());
  wrap.append(el("dt", "", t(name)), el("dd", "", value || "—"));
  return wrap;
}

function worstSeverity(order) {
  return (order.anomalies || [])
    .map((a) => a.severity)
    .sort((a, b) => (SEVERITY_ORDER[a] ?? 9) - (SEVERITY_ORDER[b] ?? 9))[0];
}

function drawOrder(order) {
  $("order-no").textContent = order.order_no;
  const channel = $("order-channel");
  channel.dataset.channel = order.channel;
  channel.textContent = label("channel", order.channel);
  const status = $("order-status");
  status.dataset.status = order.status;
  status.textContent = label("order", order.status);
  $("order-amount").textContent = money(order.amount_fen);

  const anomalies = [...(order.anomalies || [])].sort(
    (a, b) => (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9),
  );
  $("anomalies").replaceChildren(...anomalies.map((anomaly) => {
    const chip = el("li", "chip", anomaly.message || anomaly.kind);
    chip.dataset.severity = anomaly.severity;
    chip.dataset.kind = anomaly.kind;
    return chip;
  }));
  $("anomalies").hidden = anomalies.length === 0;

  const late = !order.delivered_at && Date.parse(order.promised_at) < Date.now()
    && ["placed", "accepted", "ready", "picked_up"].includes(order.status);
  $("order-facts").replaceChildren(
    fact("field.merchant", order.merchant),
    fact("field.store", order.store),
    fact("field.rider", order.rider || t("desk.noRider")),
    fact("field.phone", order.customer_phone),
    fact("field.placed", formatClock(order.placed_at)),
    fact("field.promised", formatClock(order.promised_at), late ? "late" : ""),
    fact("field.delivered", order.delivered_at ? formatClock(order.delivered_at) : t("desk.notDelivered")),
    fact("field.amount", money(order.amount_fen)),
    fact("field.address", order.address, "wide"),
  );

  const remarks = $("remarks");
  const flagged = (order.flagged_remarks || []).length > 0 && Boolean(order.remarks);
  remarks.classList.toggle("flagged", flagged);
  remarks.replaceChildren(
    el("span", "remarks-label", t("field.remarks")),
    ...(order.remarks ? remarkNodes(order.remarks, order.flagged_remarks) : [el("span", "none", t("desk.noRemarks"))]),
  );

  $("items").replaceChildren(...(order.items || []).map((item) => {
    const tr = el("tr");
    tr.append(
      el("td", "item-name", item.name),
      el("td", "item-spec", item.spec || ""),
      el("td", "num", `×${item.quantity}`),
      el("td", "num", money(item.unit_price_fen)),
      el("td", "num", money(item.unit_price_fen * item.quantity)),
    );
    return tr;
  }));

  const steps = [...(order.timeline || [])].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  $("timeline").replaceChildren(...steps.map((step) => {
    const li = el("li", "step");
    li.dataset.kind = step.kind;
    const head = el("div", "step-head");
    head.append(
      el("time", "step-at", formatClock(step.at)),
      el("span", "step-kind", label("tl", step.kind)),
      el("span", "step-actor", label("actor", step.actor)),
    );
    li.append(head);
    if (step.note) li.append(el("div", "step-note", step.note));
    return li;
  }));
}

function orderItem(order) {
  const li = el("li");
  const button = el("button", "order-item");
  button.type = "button";
  button.dataset.orderNo = order.order_no;
  if (order.order_no === shownOrderNo) button.setAttribute("aria-current", "true");
  const severity = worstSeverity(order);
  if (severity) button.dataset.severity = severity;
  const channel = el("span", "channel", label("channel", order.channel));
  channel.dataset.channel = order.channel;
  const status = el("span", "order-status", label("order", order.status));
  status.dataset.status = order.status;
  button.append(
    el("span", "order-item-no", order.order_no),
    channel,
    status,
    el("span", "order-item-store", order.store || order.merchant),
    el("span", "order-item-time", formatClock(order.placed_at)),
    el("span", "order-item-amount", money(order.amount_fen)),
  );
  button.addEventListener("click", () => {
    shownOrderNo = order.order_no;
    drawOrders(currentContext());
    mirrorChanged();
  });
  li.append(button);
  return li;
}

function drawOrders(context) {
  const orders = context?.orders || [];
  if (!orders.some((o) => o.order_no === shownOrderNo)) shownOrderNo = orders[0]?.order_no ?? null;
  const order = orders.find((o) => o.order_no === shownOrderNo);
  $("order").hidden = !order;
  if (order) drawOrder(order);
  $("no-orders").hidden = Boolean(order) || !context || Boolean(search?.message);
  $("orders-section").hidden = orders.length < 2;
  $("order-count").textContent = String(orders.length);
  $("order-list").replaceChildren(...orders.map(orderItem));
}

// -- drawing: history, tickets, transcript ----------------------------------------------------
function drawHistory(context) {
  const recent = (context?.recent_calls || []).filter((c) => c.call_id !== shownId || search);
  $("history").replaceChildren(...recent.map((c) => {
    const li = el("li");
    li.append(el("time", "history-at", formatClock(c.started_at)));
    const status = el("span", `status status-${c.status}`, label("status", c.status));
    li.append(status);
    if (c.end_reason) li.append(el("span", "history-reason", label("end", c.end_reason)));
    return li;
  }));
  $("history-empty").hidden = recent.length > 0;

  const recorded = search ? [] : calls.get(shownId)?.createdTickets ?? [];
  const tickets = [...new Set([...(context?.open_tickets || []), ...recorded])];
  $("tickets").replaceChildren(...tickets.map((no) => el("li", "ticket-no", no)));
  $("tickets-empty").hidden = tickets.length > 0;
}

function chatLine(leg, text, at, partial = false) {
  const li = el("li", partial ? "msg partial" : "msg");
  li.dataset.leg = leg;
  const head = el("div", "msg-head");
  head.append(el("span", "who", label("leg", leg)));
  if (at != null) head.append(el("span", "at", formatSeconds(Math.floor(at))));
  li.append(head, el("div", "bubble", partial ? `${text}…` : text));
  return li;
}

function drawTranscript() {
  const call = calls.get(shownId);
  const lines = call ? call.lines.map((s) => chatLine(s.leg, s.text, s.start)) : [];
  const partials = call ? [...call.partials].map(([leg, text]) => chatLine(leg, text, null, true)) : [];
  const list = $("transcript-lines");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...lines, ...partials);
  if (atBottom) list.scrollTop = list.scrollHeight;
  const showing = lines.length + partials.length > 0;
  const empty = $("transcript-empty");
  empty.hidden = showing;
  empty.dataset.i18n = call && call.state !== "ringing" ? "transcript.empty" : "desk.transcriptWaiting";
  empty.textContent = t(empty.dataset.i18n);
  $("transcript").dataset.state = call?.state || "";
}

// -- drawing: the whole screen ---------------------------------------------------------------
function currentContext() {
  return search ? search.context : calls.get(shownId)?.context ?? null;
}

function drawSearchBar() {
  const bar = $("search-result");
  bar.hidden = !search;
  if (!search) return;
  bar.dataset.state = search.pending ? "pending" : search.error || search.message ? "empty" : "found";
  $("search-kind").textContent = search.pending ? t("desk.searching") : label("query", search.kind || "unknown");
  $("search-query").textContent = search.query;
  $("search-message").textContent = search.error || search.message || "";
  $("search-close").hidden = !calls.has(shownId);
}

function drawAll() {
  drawCallList();
  drawSearchBar();
  const call = calls.get(shownId) ?? null;
  const context = currentContext();
  // A search that found nobody shows only its message; a call always shows its banner.
  const found = context && (context.caller_kind !== "unknown" || (context.orders || []).length > 0);
  const showView = search ? Boolean(found) && !search.pending : Boolean(call);
  $("view").hidden = !showView;
  $("idle").hidden = showView || Boolean(search);
  if (showView) {
    drawBanner(call, context);
    drawSuggestion(context);
    drawOrders(context);
  }
  drawTransfer(showView && !search ? call : null);
  drawConsult(showView && !search ? call : null);
  drawTicket(showView && !search ? call : null);
  drawHistory(showView ? context : null);
  drawTranscript();
  mirrorChanged(); // sent only when what the room shows has changed
}

function tick() {
  const call = calls.get(shownId);
  if (call && !search && call.state !== "ended") $("call-timer").textContent = timerText(call);
  tickAgent();
}

// -- the ticket form (记录工单) for the shown call ----------------------------------------------
// Each call keeps its own draft, filled from its screen pop; a newer screen pop refills a draft
// the agent has not edited. The customer's number is not on the page (masked): the ticket gets
// the call and the order, and the server finds the customer from them.
function metaLabel(list, code) {
  const found = (list || []).find((item) => item.code === code);
  return found ? found[uiLang()] : code || "—";
}

function clientKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `desk.${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function categoryFor(suggestion) {
  const codes = (ticketMeta?.categories || []).map((c) => c.code);
  const wanted = REASON_CATEGORY[suggestion?.reason] ?? "other";
  return codes.includes(wanted) ? wanted : codes.includes("other") ? "other" : codes[0] ?? "";
}

function prefill(context, quoted = []) {
  return {
    category: categoryFor(context?.suggestion),
    orderNo: context?.orders?.[0]?.order_no ?? "",
    party: "", // empty: the server suggests one from the category and the order's timeline
    description: [context?.suggestion?.reason_label || "",
      ...quoted.map((text) => t("ticket.callerSaid", { text }))].filter(Boolean).join("\n"),
    revision: context ? context.revision ?? 0 : null,
  };
}

// The caller's own words (their last few transcript lines) go into an untouched description:
// the agent trims a complaint instead of typing it while listening.
const QUOTED_LINES = 4;
function quoteCaller(call, text) {
  if (!text || !text.trim()) return;
  if (!call.ticket) call.ticket = newDraft(call);
  const draft = call.ticket;
  if (draft.touched || draft.result || draft.pending) return;
  draft.quoted = [...draft.quoted, text.trim()].slice(-QUOTED_LINES);
  draft.description = prefill(call.context, draft.quoted).description;
  draft.version += 1;
  if (call.id === shownId) drawTicket(call);
  mirrorChanged();
}

function newDraft(call) {
  return {
    ...prefill(call.context),
    quoted: [], // caller transcript lines quoted in the description
    key: clientKey(), // the same key again answers with the same ticket (a retried submit)
    version: 0, // bumped whenever the fields are refilled from the draft
    touched: false,
    pending: false,
    error: "",
    result: null,
  };
}

function option(value, text) {
  const node = el("option", "", text);
  node.value = value;
  return node;
}

function fillTicketForm(call, draft) {
  const orders = call.context?.orders || [];
  $("ticket-category").replaceChildren(
    ...(ticketMeta?.categories || []).map((c) => option(c.code, c[uiLang()])),
  );
  $("ticket-order").replaceChildren(
    ...orders.map((o) => option(o.order_no, `${o.order_no} · ${o.store || o.merchant || ""}`)),
    option("", t("ticket.noOrder")),
  );
  $("ticket-party").replaceChildren(
    option("", t("ticket.partyAuto")),
    ...(ticketMeta?.parties || []).map((p) => option(p.code, p[uiLang()])),
  );
  $("ticket-category").value = draft.category;
  $("ticket-order").value = orders.some((o) => o.order_no === draft.orderNo) ? draft.orderNo : "";
  $("ticket-party").value = draft.party;
  $("ticket-description").value = draft.description;
}

function drawTicket(call) {
  const card = $("ticket-card");
  card.hidden = !call || (!ticketMeta && !ticketMetaFailed);
  if (card.hidden) {
    ticketFormKey = "";
    return;
  }
  if (!call.ticket) call.ticket = newDraft(call);
  const draft = call.ticket;
  const revision = call.context ? call.context.revision ?? 0 : null;
  if (!draft.touched && !draft.result && !draft.pending && revision !== draft.revision) {
    Object.assign(draft, prefill(call.context, draft.quoted));
    draft.version += 1;
  }
  const orders = (call.context?.orders || []).map((o) => o.order_no).join(",");
  const key = [call.id, uiLang(), draft.version, orders].join("|");
  if (key !== ticketFormKey) {
    fillTicketForm(call, draft);
    ticketFormKey = key;
  }

  const result = draft.result;
  $("ticket-form").hidden = Boolean(result);
  $("ticket-result").hidden = !result;
  const submit = $("ticket-submit");
  submit.disabled = draft.pending || !ticketMeta;
  submit.textContent = t(draft.pending ? "ticket.submitting" : "ticket.submit");
  for (const id of ["ticket-category", "ticket-order", "ticket-party", "ticket-description"]) {
    $(id).disabled = draft.pending || !ticketMeta;
  }
  let message = "";
  if (ticketMetaFailed) message = t("ticket.metaFailed");
  else if (draft.error) message = t("ticket.failed", { error: draft.error });
  const error = $("ticket-error");
  error.hidden = !message;
  error.textContent = message;
  if (!result) return;

  $("ticket-result").dataset.repeat = String(Boolean(result.repeat));
  $("ticket-result-title").textContent = t(result.repeat ? "ticket.linked" : "ticket.created");
  const number = $("ticket-number");
  number.textContent = result.number;
  number.href = `/tickets?number=${encodeURIComponent(result.number)}`;
  const priority = $("ticket-priority");
  priority.textContent = label("priority", result.priority);
  priority.dataset.priority = result.priority;
  const status = $("ticket-status");
  status.textContent = metaLabel(ticketMeta?.statuses, result.status);
  status.dataset.status = result.status;
  const repeat = $("ticket-repeat");
  repeat.hidden = !result.repeat;
  repeat.textContent = t("ticket.repeatTag");
  const due = $("ticket-due");
  due.dataset.sla = result.sla_state;
  due.textContent = result.due_at ? t("ticket.due", { time: formatClock(result.due_at) }) : t("ticket.noDue");
}

function ticketDraft() {
  const call = calls.get(shownId);
  return call && !search ? call.ticket : null;
}

function editTicket(field, value) {
  const draft = ticketDraft();
  if (!draft || draft.pending) return;
  draft[field] = value;
  draft.touched = true;
  mirrorChanged();
}

// What the listening room mirrors of this desk (desk-mirror.js): the ticket draft of my
// current call, the order on its card and whether it is on my screen. Null: no call of mine.
function mirrorSnapshot() {
  const agent = currentAgent();
  const onCall = agent && ["ringing", "on_call"].includes(agent.state);
  const call = onCall ? calls.get(agent.call_id) : null;
  if (!call || call.state === "ended") return null;
  const draft = call.ticket;
  const shown = call.id === shownId;
  let status = "editing";
  if (draft?.pending) status = "submitting";
  else if (draft?.result) status = "submitted";
  else if (draft?.error) status = "failed";
  return {
    call_id: call.id,
    category: draft?.category || "",
    order_no: draft?.orderNo || "",
    responsible_party: draft?.party || "",
    description: draft?.description || "",
    status,
    ticket_number: draft?.result?.number || "",
    edited: Boolean(draft?.touched),
    shown_order_no: (shown && shownOrderNo) || "",
    viewing: search ? "search" : shown ? "call" : "other_call",
  };
}

async function submitTicket(event) {
  event.preventDefault();
  const call = calls.get(shownId);
  const draft = call && !search ? call.ticket : null;
  if (!draft || draft.pending || draft.result || !ticketMeta) return;
  const body = {
    category: draft.category,
    description: draft.description.trim(),
    channel: "phone",
    client_key: draft.key,
  };
  if (draft.orderNo) body.order_no = draft.orderNo;
  if (draft.party) body.responsible_party = draft.party;
  if (TICKET_CALL_ID.test(call.id)) body.call_id = call.id;
  if (call.context?.name) body.customer_name = call.context.name.slice(0, 64);
  Object.assign(draft, { pending: true, error: "" });
  drawTicket(call);
  mirrorNow();
  try {
    const response = await postJson("/api/tickets", body);
    const reply = await response.json().catch(() => ({}));
    if (response.ok) {
      draft.result = reply;
      if (!call.createdTickets.includes(reply.number)) call.createdTickets.push(reply.number);
    } else {
      draft.error = errorText(reply, response);
    }
  } catch (error) {
    console.error(error);
    draft.error = t("ticket.offline");
  }
  draft.pending = false;
  if (call.id === shownId) drawAll();
  mirrorNow();
}

function anotherTicket() {
  const call = calls.get(shownId);
  if (!call || search) return;
  call.ticket = newDraft(call);
  drawAll();
  mirrorNow();
  $("ticket-category").focus();
}

async function loadTicketMeta() {
  try {
    const response = await api("/api/tickets/meta");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    ticketMeta = await response.json();
    ticketMetaFailed = false;
  } catch (error) {
    console.error(error);
    ticketMetaFailed = true;
  }
  drawAll();
}

function bindTicketForm() {
  $("ticket-form").addEventListener("submit", submitTicket);
  $("ticket-another").addEventListener("click", anotherTicket);
  $("ticket-category").addEventListener("change", (e) => editTicket("category", e.target.value));
  $("ticket-order").addEventListener("change", (e) => editTicket("orderNo", e.target.value));
  $("ticket-party").addEventListener("change", (e) => editTicket("party", e.target.value));
  $("ticket-description").addEventListener("input", (e) => editTicket("description", e.target.value));
}

// -- search ----------------------------------------------------------------------------------
async function runSearch(event) {
  event.preventDefault();
  const query = $("search-input").value.trim();
  if (!query) return;
  search = { query, pending: true, kind: "", message: "", context: null, error: "" };
  drawAll();
  const params = new URLSearchParams({ q: query, lang: uiLang() });
  try {
    const response = await api(`/api/screenpop/search?${params}`);
    const body = await response.json().catch(() => ({}));
    if (search?.query !== query) return; // a newer search or the call took over
    if (response.ok) {
      search = { query, pending: false, kind: body.query_kind, message: body.message || "", context: body, error: "" };
    } else {
      const detail = typeof body.detail === "string" ? body.detail : t("desk.searchFailed");
      search = { query, pending: false, kind: "", message: "", context: null, error: detail };
    }
  } catch (error) {
    console.error(error);
    if (search?.query === query) search = { ...search, pending: false, error: t("desk.searchFailed") };
  }
  shownOrderNo = null;
  drawAll();
}

function closeSearch() {
  search = null;
  shownOrderNo = null;
  drawAll();
}

// -- transfer (转接) of the call the ACD connected me to ---------------------------------------
// The button shows once my agent leg for the shown call is answered (or, after a reload, while
// the store says I am on that call). The panel names a queue, one ready agent (blind, or
// 咨询转接: consult them first, see consult.js) or an outside number; the server hands the
// caller on and my leg ends.
function newTransfer() {
  return {
    open: false, pending: false, error: "", queue: "", agentId: "", number: "", consult: false,
    done: null,
  };
}

function transferable(call) {
  if (!call || search || call.state === "ended" || call.transfer?.done) return false;
  if (consulting(call) || call.consult?.state === "consulted") return false; // not meanwhile
  if (call.mine && call.connected) return true;
  const agent = currentAgent();
  return agent?.state === "on_call" && agent.call_id === call.id;
}

function queueLabel(name) {
  const queue = (transferQueues || []).find((q) => q.name === name);
  return queue ? queue[uiLang()] : name;
}

function transferTarget(done) {
  return done.queue ? queueLabel(done.queue) : done.number || done.agentName;
}

function fillTransferForm() {
  const queues = transferQueues || [];
  const agents = transferAgents || [];
  $("transfer-queue").replaceChildren(
    option("", t("transfer.pickQueue")),
    ...queues.map((q) => option(q.name, q[uiLang()])),
  );
  $("transfer-agent").replaceChildren(
    option("", t(transferAgents && !agents.length ? "transfer.noAgents" : "transfer.pickAgent")),
    ...agents.map((a) => option(String(a.user_id), a.display_name)),
  );
}

function drawTransfer(call) {
  const can = transferable(call);
  drawParty(call?.id, can);
  const state = call?.transfer;
  const open = can && Boolean(state?.open);
  const toggle = $("transfer-open");
  toggle.hidden = !can;
  toggle.setAttribute("aria-expanded", String(open));
  $("transfer-panel").hidden = !open;
  const done = $("transfer-done");
  done.hidden = !state?.done || Boolean(search);
  done.textContent = state?.done
    ? [t("transfer.done"), transferTarget(state.done)].filter(Boolean).join(" · ")
    : "";
  if (!open) return;

  const key = [uiLang(), ...(transferQueues || []).map((q) => q.name), "|",
    ...(transferAgents || []).map((a) => `${a.user_id}:${a.display_name}`)].join(",");
  if (key !== transferFormKey) {
    fillTransferForm();
    transferFormKey = key;
  }
  const queue = $("transfer-queue");
  const agent = $("transfer-agent");
  queue.value = state.queue;
  agent.value = state.agentId;
  queue.disabled = state.pending || !transferQueues?.length;
  agent.disabled = state.pending || !transferAgents?.length;
  const consult = $("transfer-consult");
  consult.checked = state.consult && Boolean(state.agentId);
  consult.disabled = state.pending || !state.agentId;
  const number = $("transfer-number");
  if (number.value !== state.number) number.value = state.number;
  number.disabled = state.pending;
  const submit = $("transfer-submit");
  submit.disabled = state.pending || !(state.queue || state.agentId || state.number.trim());
  const label = consult.checked ? "transfer.consultSubmit" : "transfer.submit";
  submit.textContent = t(state.pending ? "transfer.submitting" : label);
  const message = state.error ? t("transfer.failed", { error: state.error }) : transferLoadError;
  const error = $("transfer-error");
  error.hidden = !message;
  error.textContent = message;
}

function shownTransfer() {
  const call = calls.get(shownId);
  return transferable(call) ? call : null;
}

function loadJson(path) {
  return api(path).then((response) => {
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  });
}

// The queues once; the ready agents each time the panel opens (then kept by the events).
async function loadTransferTargets() {
  const [agents, queues] = await Promise.allSettled([
    loadJson("/api/agents/available"),
    transferQueues ? Promise.resolve(transferQueues) : loadJson("/api/queues"),
  ]);
  if (agents.status === "fulfilled") transferAgents = agents.value;
  if (queues.status === "fulfilled") transferQueues = queues.value;
  const failed = [agents, queues].filter((r) => r.status === "rejected");
  failed.forEach((r) => console.error(r.reason));
  transferLoadError = failed.length ? t("transfer.loadFailed") : "";
  drawTransfer(shownTransfer());
}

// Another agent's state changed: they join or leave the agents I may transfer to.
function followAvailable(e) {
  if (!transferAgents || (me && e.user_id === me.id)) return;
  const others = transferAgents.filter((a) => a.user_id !== e.user_id);
  transferAgents = e.state === "ready"
    ? [...others, { user_id: e.user_id, display_name: e.display_name || e.username, state: e.state }]
    : others;
  for (const call of calls.values()) {
    if (call.transfer?.agentId === String(e.user_id) && e.state !== "ready") call.transfer.agentId = "";
  }
  drawTransfer(shownTransfer());
}

function openTransfer(open) {
  const call = shownTransfer();
  if (!call) return;
  if (!call.transfer) call.transfer = newTransfer();
  if (call.transfer.pending) return;
  call.transfer.open = open;
  call.transfer.error = "";
  if (open) loadTransferTargets();
  drawTransfer(call);
  if (open) $("transfer-queue").focus();
  else $("transfer-open").focus();
}

function pickTarget(field, value) {
  const call = shownTransfer();
  const state = call?.transfer;
  if (!state || state.pending) return;
  state.queue = field === "queue" ? value : "";
  state.agentId = field === "agent" ? value : "";
  state.number = field === "number" ? value : "";
  state.error = "";
  drawTransfer(call);
}

async function submitTransfer(event) {
  event.preventDefault();
  const call = shownTransfer();
  const state = call?.transfer;
  const number = (state?.number ?? "").trim();
  if (!state?.open || state.pending || !(state.queue || state.agentId || number)) return;
  const consult = state.consult && Boolean(state.agentId);
  let body = { agent_id: Number(state.agentId) };
  if (state.queue) body = { queue: state.queue };
  else if (number) body = { number };
  const agentName = (transferAgents || [])
    .find((a) => String(a.user_id) === state.agentId)?.display_name ?? "";
  Object.assign(state, { pending: true, error: "" });
  drawTransfer(call);
  const path = `/api/calls/${encodeURIComponent(call.id)}/${consult ? "consult" : "transfer"}`;
  try {
    const response = await postJson(path, body);
    const reply = await response.json().catch(() => ({}));
    if (response.ok && consult) {
      consultRequested(call, agentName); // the bar takes over (consult.js)
      state.open = false;
    } else if (response.ok) {
      state.done = { queue: state.queue, agentName, number: reply.number || "" };
      state.open = false;
    } else {
      state.error = errorText(reply, response);
    }
  } catch (error) {
    console.error(error);
    state.error = t("transfer.network");
  }
  state.pending = false;
  if (call.id === shownId) drawAll();
}

function bindTransfer() {
  $("transfer-open").addEventListener("click", () => {
    openTransfer(!calls.get(shownId)?.transfer?.open);
  });
  $("transfer-cancel").addEventListener("click", () => openTransfer(false));
  $("transfer-panel").addEventListener("submit", submitTransfer);
  $("transfer-panel").addEventListener("keydown", (event) => {
    if (event.key === "Escape") openTransfer(false);
  });
  $("transfer-queue").addEventListener("change", (e) => pickTarget("queue", e.target.value));
  $("transfer-agent").addEventListener("change", (e) => pickTarget("agent", e.target.value));
  $("transfer-number").addEventListener("input", (e) => pickTarget("number", e.target.value));
  $("transfer-consult").addEventListener("change", (e) => {
    const state = shownTransfer()?.transfer;
    if (!state || state.pending) return;
    state.consult = e.target.checked;
    drawTransfer(shownTransfer());
  });
  bindConsult({ postJson, errorText }, drawAll);
}

// -- start -----------------------------------------------------------------------------------
async function start() {
  initLang();
  applyTranslations();
  bindLangToggle($("lang-toggle"), () => {
    drawAccount(me);
    drawAll();
    drawAgentState();
    redrawSoftphone();
  });
  bindLogout();
  $("search-form").addEventListener("submit", runSearch);
  $("search-close").addEventListener("click", closeSearch);
  bindTicketForm();
  bindTransfer();
  bindAgentState({ api, postJson, errorText }, () => {
    drawTransfer(search ? null : calls.get(shownId));
    mirrorChanged(); // on a call now, or no longer
  });
  bindMirror({ postJson }, mirrorSnapshot);
  $("search-input").addEventListener("keydown", (event) => {
    if (event.key === "Escape" && search) closeSearch();
  });
  me = await (await api("/api/auth/me")).json();
  drawAccount(me);
  drawAll();
  loadAgentState();
  loadTicketMeta();
  startSoftphone(api).catch(console.error);
  bindDial({ api, postJson, errorText }).catch(console.error);
  followEvents({
    handlers: HANDLERS,
    onState: setLive,
    onOpen: (reconnecting) => {
      loadActiveCalls(); // after subscribing: nothing between the two is missed
      loadAgentState();
      if (reconnecting) console.info("reconnected");
    },
    checkLogin: () => api("/api/auth/me"), // a lost login goes back to the login page
  });
  setInterval(tick, 1000);
}

start().catch(console.error);
