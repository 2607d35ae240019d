// The tickets page (工单): a filtered list (by status, category and the responsible party's
// queue) with live SLA countdowns, SLA alerts pushed over /ws/events, a detail panel to move a
// ticket on, annotate it, compensate the customer and go through its calls (transcript, and the
// recording for the roles that may hear it), and a CSV export of the list.
// Everything is drawn with textContent (never innerHTML): descriptions and notes come from people.
import { followEvents } from "./live.js";
import { bindLogout, drawAccount } from "./account.js";
import {
  applyTranslations, bindLangToggle, formatClock, formatSeconds, formatTime, has, initLang, t,
} from "./i18n.js";

const LIST_LIMIT = 500;
const REFRESH_MS = 30_000;
// Who may decide a compensation needing which approval (the server checks again).
const ROLE_LEVEL = { agent: 0, qa: 0, supervisor: 1, admin: 2 };
const APPROVAL_LEVEL = { none: 0, supervisor: 1, admin: 2 };
// Mirrors RECORDING_ROLES in tingyin/telephony/api.py: the server checks again and audits.
const RECORDING_ROLES = new Set(["supervisor", "qa", "admin"]);
const MAX_ALERTS = 5;

let me = null;
let meta = null; // GET /api/tickets/meta
let tickets = []; // the list as last loaded
let byNumber = new Map(); // number → ticket, of that list
let selected = null; // the number whose detail shows
let detail = null; // its GET /api/tickets/{number}
let busy = false; // an action is on its way: its buttons wait
let loadSeq = 0;
let alerts = []; // TicketSlaAlert events not yet dismissed, newest first; their rows are marked
let callsKey = ""; // what the calls section shows: redrawn only on a change (a playing recording goes on)
const openTranscripts = new Set(); // call ids whose transcript is unfolded

const $ = (id) => document.getElementById(id);

// -- small helpers ---------------------------------------------------------------------------
function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function label(prefix, value) {
  return value && has(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : value || "—";
}

function lang() {
  return document.documentElement.lang.startsWith("en") ? "en" : "zh";
}

// A label from the policy (categories, parties, statuses, compensation kinds).
function metaLabel(list, code) {
  const found = (list || []).find((item) => item.code === code);
  return found ? found[lang()] : code || "—";
}

const categoryLabel = (code) => metaLabel(meta?.categories, code);
const partyLabel = (code) => metaLabel(meta?.parties, code);
const statusLabel = (code) => metaLabel(meta?.statuses, code);
const kindLabel = (code) => metaLabel(meta?.compensation_kinds, code);

function money(fen) {
  return fen == null ? "—" : `¥${(fen / 100).toFixed(2)}`;
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) {
    location.replace("/login");
    throw new Error("not logged in");
  }
  return response;
}

async function getJson(path) {
  const response = await api(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

// A POST; resolves to its JSON (null for 204), or throws Error(the server's detail).
async function post(path, body) {
  const response = await api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const reply = response.status === 204 ? null : await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = reply?.detail;
    const text = typeof detail === "string" ? detail
      : Array.isArray(detail) ? detail.map((d) => d.msg).filter(Boolean).join("; ")
        : `HTTP ${response.status}`;
    throw new Error(text);
  }
  return reply;
}

// -- the SLA countdown -----------------------------------------------------------------------
function duration(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  const days = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60]
    .map((n, i) => (i ? String(n).padStart(2, "0") : String(n))).join(":");
  return days ? t("sla.days", { d: days, hms }) : hms;
}

// What the SLA cell says and how it is coloured: red once breached (or past due), orange
// when warned; the server's state is refreshed on each change, the clock here every second.
function slaView(ticket, now = Date.now()) {
  if (!ticket.due_at) {
    const state = ticket.sla_state === "breached" ? "breached" : ticket.sla_state === "paused" ? "paused" : "met";
    return { state, text: t(`sla.state.${state}`) };
  }
  const left = Date.parse(ticket.due_at) - now;
  if (left <= 0 || ticket.sla_state === "breached") {
    return { state: "breached", text: left <= 0 ? t("sla.over", { time: duration(left) }) : t("sla.state.breached") };
  }
  const state = ticket.sla_state === "warning" ? "warning" : ticket.sla_state === "paused" ? "paused" : "running";
  return { state, text: t("sla.left", { time: duration(left) }) };
}

function drawSla(node, ticket) {
  const view = slaView(ticket);
  node.dataset.sla = view.state;
  node.textContent = view.text;
  if (ticket.due_at) node.title = t("ticket.due", { time: formatTime(ticket.due_at) });
}

function tick() {
  const now = Date.now();
  for (const cell of document.querySelectorAll("#ticket-rows .sla")) {
    const ticket = byNumber.get(cell.dataset.number);
    if (ticket) {
      const view = slaView(ticket, now);
      cell.dataset.sla = view.state;
      cell.textContent = view.text;
      cell.closest("tr").dataset.sla = view.state;
    }
  }
  if (detail) drawSla($("dt-sla"), detail);
}

// -- the list --------------------------------------------------------------------------------
function chip(className, text, data = {}) {
  const node = el("span", className, text);
  Object.assign(node.dataset, data);
  return node;
}

function cell(...children) {
  const td = el("td");
  td.append(...children);
  return td;
}

function row(ticket) {
  const tr = el("tr");
  tr.dataset.number = ticket.number;
  tr.dataset.testid = "ticket-row";
  tr.tabIndex = 0;
  if (ticket.number === selected) tr.setAttribute("aria-selected", "true");
  const alert = alerts.find((a) => a.number === ticket.number);
  if (alert) tr.dataset.alert = alert.state;
  const number = el("span", "tk-number", ticket.number);
  const sla = el("span", "sla");
  sla.dataset.number = ticket.number;
  drawSla(sla, ticket);
  tr.dataset.sla = sla.dataset.sla;
  const numberCell = cell(number);
  if (ticket.compensation_fen) numberCell.append(el("span", "tk-paid", money(ticket.compensation_fen)));
  tr.append(
    numberCell,
    cell(el("span", "", categoryLabel(ticket.category))),
    cell(chip("priority", label("priority", ticket.priority), { priority: ticket.priority })),
    cell(chip("ticket-status", statusLabel(ticket.status), { status: ticket.status })),
    cell(el("span", "tk-order", ticket.order_no || "—")),
    cell(el("span", "", partyLabel(ticket.responsible_party))),
    cell(el("time", "tk-time", formatClock(ticket.opened_at))),
    cell(sla),
  );
  tr.addEventListener("click", () => select(ticket.number));
  tr.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      select(ticket.number);
    }
  });
  return tr;
}

function drawList() {
  byNumber = new Map(tickets.map((x) => [x.number, x]));
  $("ticket-rows").replaceChildren(...tickets.map(row));
  $("list-empty").hidden = tickets.length > 0;
  $("ticket-count").textContent = t("tickets.count", { n: tickets.length });
}

async function loadList() {
  const seq = ++loadSeq;
  const params = new URLSearchParams({ limit: String(LIST_LIMIT) });
  if ($("filter-status").value) params.set("status", $("filter-status").value);
  if ($("filter-category").value) params.set("category", $("filter-category").value);
  if ($("filter-party").value) params.set("party", $("filter-party").value);
  try {
    const list = await getJson(`/api/tickets?${params}`);
    if (seq !== loadSeq) return; // a newer filter won
    tickets = list;
    $("list-error").hidden = true;
  } catch (error) {
    console.error(error);
    if (seq === loadSeq) $("list-error").hidden = false;
  }
  drawList();
}

function fillFilters() {
  const keep = [$("filter-status").value, $("filter-category").value, $("filter-party").value];
  const options = (list) => (list || []).map((item) => {
    const node = el("option", "", item[lang()]);
    node.value = item.code;
    return node;
  });
  const all = () => {
    const node = el("option", "", t("tickets.all"));
    node.value = "";
    return node;
  };
  $("filter-status").replaceChildren(all(), ...options(meta?.statuses));
  $("filter-category").replaceChildren(all(), ...options(meta?.categories));
  const anyQueue = el("option", "", t("tickets.queueAll"));
  anyQueue.value = "";
  $("filter-party").replaceChildren(anyQueue, ...(meta?.parties || []).map((party) => {
    const node = el("option", "", t("tickets.queueOption", { label: party[lang()], queue: party.queue }));
    node.value = party.code;
    return node;
  }));
  [$("filter-status").value, $("filter-category").value, $("filter-party").value] = keep;
}

// The queue is in the address (?party=delivery), so a team can bookmark its own.
function pickQueue() {
  const params = new URLSearchParams(location.search);
  if ($("filter-party").value) params.set("party", $("filter-party").value);
  else params.delete("party");
  const query = params.toString();
  history.replaceState(null, "", query ? `${location.pathname}?${query}` : location.pathname);
  loadList();
}

// -- the detail panel ------------------------------------------------------------------------
function select(number) {
  selected = number;
  for (const tr of document.querySelectorAll("#ticket-rows tr")) {
    if (tr.dataset.number === number) tr.setAttribute("aria-selected", "true");
    else tr.removeAttribute("aria-selected");
  }
  const params = new URLSearchParams(location.search);
  params.set("number", number);
  history.replaceState(null, "", `${location.pathname}?${params}`);
  $("dt-move-note").value = "";
  $("note-text").value = "";
  $("note-public").checked = false;
  $("comp-amount").value = "";
  $("comp-note").value = "";
  openTranscripts.clear();
  showError("");
  loadDetail();
}

async function loadDetail() {
  const number = selected;
  if (!number) return;
  try {
    const response = await api(`/api/tickets/${encodeURIComponent(number)}`);
    const body = await response.json().catch(() => ({}));
    if (number !== selected) return;
    if (!response.ok) {
      detail = null;
      drawDetail();
      showError(typeof body.detail === "string" ? body.detail : `HTTP ${response.status}`);
      return;
    }
    const followups = await api(`/api/tickets/${encodeURIComponent(number)}/followups`);
    body.followups = followups.ok ? await followups.json() : [];
    if (number !== selected) return;
    detail = body;
  } catch (error) {
    console.error(error);
  }
  drawDetail();
}

function showError(message) {
  const node = $("dt-error");
  node.hidden = !message;
  node.textContent = message ? t("ticket.actionFailed", { error: message }) : "";
}

function fact(name, value, className = "") {
  const wrap = el("div", `dt-fact ${className}`.trim());
  const dd = el("dd");
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value || "—";
  wrap.append(el("dt", "", t(name)), dd);
  return wrap;
}

function priorityReason(reason) {
  if (reason.startsWith("keyword:")) return t("prio.keyword", { word: reason.slice(8) });
  return label("prio", reason);
}

function actorName(id) {
  if (id == null) return t("ticket.system");
  if (me && id === me.id) return t("ticket.me");
  return t("ticket.user", { id });
}

function eventSummary(event) {
  const d = event.data || {};
  switch (event.kind) {
    case "created":
      return [statusLabel(d.status), d.priority ? label("priority", d.priority) : ""].filter(Boolean).join(" · ");
    case "status":
      return `${statusLabel(d.from)} → ${statusLabel(d.to)}${d.note ? ` · ${d.note}` : ""}`;
    case "note":
      return String(d.text ?? "");
    case "compensation":
      return [`${kindLabel(d.kind)} ${money(d.amount_fen)}`, label("comp", d.status), d.reason]
        .filter(Boolean).join(" · ");
    case "compensation_decided":
      return `${kindLabel(d.kind)} ${money(d.amount_fen)} · ${label("comp", d.status)}`;
    case "followup":
      return t("ticket.followupScore", { score: d.score });
    case "repeat_contact":
      return label("channel", d.channel);
    case "sla_warning":
    case "sla_breach":
      return [label("clock", d.clock), d.due_at ? t("ticket.due", { time: formatTime(d.due_at) }) : "",
        d.escalated_to ? t("ticket.escalated") : ""].filter(Boolean).join(" · ");
    default: {
      const text = JSON.stringify(d);
      return text === "{}" ? "" : text.slice(0, 200);
    }
  }
}

function drawHistory(events) {
  const items = [...events].reverse().map((event) => { // newest first
    const li = el("li", "dt-event");
    li.dataset.kind = event.kind;
    const head = el("div", "dt-event-head");
    head.append(
      el("time", "dt-event-at", formatTime(event.at)),
      el("span", "dt-event-kind", label("ev", event.kind)),
      el("span", "dt-event-actor", actorName(event.actor_id)),
    );
    if (!event.public) head.append(el("span", "dt-internal", t("ticket.internal")));
    li.append(head);
    const summary = eventSummary(event);
    if (summary) li.append(el("div", "dt-event-text", summary));
    return li;
  });
  $("dt-history").replaceChildren(...items);
}

function mayDecide(comp) {
  return (ROLE_LEVEL[me?.role] ?? 0) >= (APPROVAL_LEVEL[comp.approval_level] ?? 9)
    && (ROLE_LEVEL[me?.role] ?? 0) > 0;
}

function drawCompensations(ticket) {
  const comps = [...ticket.compensations].sort((a, b) => Date.parse(b.requested_at) - Date.parse(a.requested_at));
  $("dt-comps").replaceChildren(...comps.map((comp) => {
    const li = el("li", "dt-comp");
    li.dataset.status = comp.status;
    li.dataset.id = String(comp.id);
    const main = el("div", "dt-comp-main");
    main.append(
      el("span", "dt-comp-kind", kindLabel(comp.kind)),
      el("span", "dt-comp-amount", money(comp.amount_fen)),
      chip("comp-status", label("comp", comp.status), { status: comp.status, testid: "comp-status" }),
    );
    const side = el("div", "dt-comp-side");
    side.append(el("span", "dt-muted", `${label("approval", comp.approval_level)} · ${formatClock(comp.requested_at)}`));
    if (comp.status === "pending" && mayDecide(comp)) {
      const approve = el("button", "tk-button tk-approve", t("ticket.approve"));
      approve.type = "button";
      approve.dataset.testid = "comp-approve";
      approve.disabled = busy;
      approve.addEventListener("click", () => decide(comp, true));
      const reject = el("button", "tk-button tk-reject", t("ticket.reject"));
      reject.type = "button";
      reject.dataset.testid = "comp-reject";
      reject.disabled = busy;
      reject.addEventListener("click", () => decide(comp, false));
      side.append(approve, reject);
    }
    li.append(main, side);
    return li;
  }));
  $("dt-comps-empty").hidden = comps.length > 0;
  $("dt-comp-total").textContent = ticket.compensation_fen ? money(ticket.compensation_fen) : "";

  const allows = meta?.categories.find((c) => c.code === ticket.category)?.allows ?? [];
  const kind = $("comp-kind");
  const keep = kind.value;
  kind.replaceChildren(...allows.map((code) => {
    const node = el("option", "", kindLabel(code));
    node.value = code;
    return node;
  }));
  if (allows.includes(keep)) kind.value = keep;
  $("comp-form").hidden = allows.length === 0;
  const free = (meta?.compensation_tiers || []).filter((tier) => tier.approval === "none").at(-1);
  $("comp-hint").textContent = allows.length === 0 ? t("ticket.compNone")
    : free ? t("ticket.compHint", { amount: money(free.up_to_fen) }) : "";
}

function drawMoves(ticket) {
  const next = meta?.statuses.find((s) => s.code === ticket.status)?.next ?? [];
  $("dt-moves").replaceChildren(...next.map((status) => {
    const button = el("button", "tk-button tk-move", label("to", status));
    button.type = "button";
    button.dataset.status = status;
    button.disabled = busy;
    button.addEventListener("click", () => move(status));
    return button;
  }));
  if (!next.length) $("dt-moves").append(el("span", "dt-muted", t("ticket.noMoves")));
  $("dt-move-note").hidden = !next.length;
}

function drawDetail() {
  const ticket = detail;
  $("detail-empty").hidden = Boolean(ticket);
  $("detail-body").hidden = !ticket;
  if (!ticket) return;
  $("dt-number").textContent = ticket.number;
  const status = $("dt-status");
  status.textContent = statusLabel(ticket.status);
  status.dataset.status = ticket.status;
  const priority = $("dt-priority");
  priority.textContent = label("priority", ticket.priority);
  priority.dataset.priority = ticket.priority;
  $("dt-category").textContent = `${categoryLabel(ticket.category)} · ${label("channel", ticket.channel)}`;
  drawSla($("dt-sla"), ticket);
  const description = $("dt-description");
  description.textContent = ticket.description || t("ticket.noDescription");
  description.classList.toggle("none", !ticket.description);

  const reasons = (ticket.priority_reasons || []).map(priorityReason).join("、") || t("ticket.defaultPriority");
  $("dt-facts").replaceChildren(
    fact("ticket.order", ticket.order_no, "mono"),
    fact("ticket.customer", ticket.customer_name),
    fact("ticket.party", partyLabel(ticket.responsible_party)),
    fact("ticket.partyReason", ticket.responsibility_reason),
    fact("ticket.priorityReasons", reasons),
    fact("ticket.compTotal", money(ticket.compensation_fen)),
    fact("ticket.opened", formatTime(ticket.opened_at)),
    fact("ticket.firstResponse", ticket.first_response_at ? formatTime(ticket.first_response_at) : ""),
    fact("ticket.resolvedAt", ticket.resolved_at ? formatTime(ticket.resolved_at) : ""),
    fact("ticket.updated", formatTime(ticket.updated_at)),
  );
  drawCalls(ticket);
  drawFollowups(ticket);
  drawMoves(ticket);
  drawCompensations(ticket);
  $("comp-submit").disabled = busy;
  $("note-submit").disabled = busy;
  drawHistory(ticket.events || []);
}

// -- follow-up survey calls (回访): each attempt's state and the customer's score --------------
function drawFollowups(ticket) {
  const rows = ticket.followups || [];
  $("dt-followups").replaceChildren(...rows.map((f) => {
    const li = el("li", "dt-followup");
    li.dataset.status = f.status;
    const when = f.answered_at || f.due_at;
    li.append(
      el("span", "dt-fu-status", label("followup", f.status)),
      el("span", "dt-fu-score", f.score ? `${"★".repeat(f.score)}${"☆".repeat(5 - f.score)} ${f.score}` : ""),
      el("span", "dt-muted", [formatTime(when),
        f.attempts ? t("ticket.followupAttempts", { n: f.attempts }) : "",
        f.status === "answered" ? "" : label("followupOutcome", f.outcome)].filter(Boolean).join(" · ")),
    );
    return li;
  }));
  $("dt-followups-empty").hidden = rows.length > 0;
  const again = $("dt-followup-again");
  again.hidden = !(ticket.status === "resolved" && ["supervisor", "admin"].includes(me?.role));
  again.disabled = busy;
}

// -- the ticket's calls: a summary each, its transcript on demand, the recording for some roles --
function drawCalls(ticket) {
  const calls = ticket.linked_calls || [];
  const key = [ticket.number, lang(), ...calls.map((c) => `${c.call_id}:${c.duration_s}:${c.has_recording}`)].join("|");
  if (key === callsKey) return; // unchanged: open transcripts and a playing recording stay as they are
  callsKey = key;
  $("dt-calls").replaceChildren(...calls.map(callItem));
  $("dt-calls-empty").hidden = calls.length > 0;
}

function callItem(call) {
  const li = el("li", "dt-call");
  li.dataset.callId = call.call_id;
  li.dataset.testid = "ticket-call";
  const head = el("div", "dt-call-head");
  const caller = el("span", "dt-call-caller", call.caller || t("ticket.callWithheld")); // masked by the server
  caller.dataset.testid = "call-caller";
  const toggle = el("button", "tk-button dt-call-toggle", t("ticket.callTranscript"));
  toggle.type = "button";
  toggle.dataset.testid = "call-transcript-toggle";
  toggle.setAttribute("aria-expanded", "false");
  head.append(
    el("time", "dt-call-at", formatTime(call.started_at)),
    el("span", "dt-call-dir", label("dir", call.direction)),
    caller,
    el("span", "dt-call-duration", call.duration_s == null ? t("ticket.callOngoing") : formatSeconds(call.duration_s)),
    toggle,
  );
  li.append(head);
  if (RECORDING_ROLES.has(me?.role)) {
    if (call.has_recording) {
      const audio = el("audio", "dt-call-audio");
      audio.controls = true;
      audio.preload = "none"; // every fetch is an audited download: only when someone presses play
      audio.src = `/api/calls/${encodeURIComponent(call.call_id)}/recording`;
      audio.setAttribute("aria-label", t("ticket.callRecording"));
      audio.dataset.testid = "call-recording";
      li.append(audio);
    } else {
      li.append(el("p", "dt-muted", t("ticket.callNoRecording")));
    }
  }
  const lines = el("ol", "dt-transcript");
  lines.dataset.testid = "call-transcript";
  lines.hidden = true;
  li.append(lines);
  toggle.addEventListener("click", () => toggleTranscript(call.call_id, toggle, lines));
  if (openTranscripts.has(call.call_id)) toggleTranscript(call.call_id, toggle, lines, true);
  return li;
}

function toggleTranscript(callId, button, lines, open = lines.hidden) {
  if (open) openTranscripts.add(callId);
  else openTranscripts.delete(callId);
  lines.hidden = !open;
  button.setAttribute("aria-expanded", String(open));
  button.textContent = t(open ? "ticket.callHide" : "ticket.callTranscript");
  if (open) loadTranscript(callId, lines); // afresh on each opening: a call's transcript grows
}

async function loadTranscript(callId, lines) {
  lines.replaceChildren(el("li", "dt-muted", t("ticket.transcriptLoading")));
  try {
    const body = await getJson(`/api/calls/${encodeURIComponent(callId)}/transcript`);
    const items = body.segments.map((segment) => {
      const li = el("li", "dt-line");
      li.dataset.leg = segment.leg;
      li.dataset.testid = "transcript-segment";
      li.append(
        el("span", "dt-line-at", formatSeconds(Math.floor(segment.start))),
        el("span", "dt-line-who", label("leg", segment.leg)),
        el("span", "dt-line-text", segment.text),
      );
      return li;
    });
    if (!items.length) items.push(el("li", "dt-muted", t("transcript.empty")));
    if (body.legs.some((leg) => leg.status !== "complete" && leg.status !== "live")) {
      items.push(el("li", "dt-muted", t("transcript.pending")));
    }
    lines.replaceChildren(...items);
  } catch (error) {
    console.error(error);
    lines.replaceChildren(el("li", "dt-line-error", t("ticket.transcriptFailed")));
  }
}

// -- SLA alerts from the hub (/ws/events) ------------------------------------------------------
function alertText(alert) {
  const state = alert.state === "breached" ? "breached" : "warning";
  return t(`alert.sla.${state}`, { number: alert.number }) + (alert.escalate ? t("alert.sla.escalate") : "");
}

function drawAlerts() {
  const list = $("sla-alerts");
  list.hidden = alerts.length === 0;
  list.replaceChildren(...alerts.map((alert) => {
    const li = el("li", "tk-alert");
    li.dataset.testid = "sla-alert";
    li.dataset.number = alert.number;
    li.dataset.state = alert.state;
    li.dataset.escalate = String(Boolean(alert.escalate));
    const clock = label("clock", alert.clock);
    const when = alert.due_at ? t("alert.sla.clock", { clock, time: formatTime(alert.due_at) }) : clock;
    const view = el("button", "tk-button tk-alert-view", t("alert.view"));
    view.type = "button";
    view.addEventListener("click", () => select(alert.number));
    const dismiss = el("button", "tk-alert-dismiss", "×");
    dismiss.type = "button";
    dismiss.title = t("alert.dismiss");
    dismiss.setAttribute("aria-label", t("alert.dismiss"));
    dismiss.addEventListener("click", () => {
      alerts = alerts.filter((a) => a !== alert);
      drawAlerts();
      drawList();
    });
    li.append(
      el("strong", "tk-alert-text", alertText(alert)),
      el("span", "tk-alert-sub", `${categoryLabel(alert.category)} · ${when}`),
      view,
      dismiss,
    );
    return li;
  }));
}

function onSlaAlert(alert) {
  alerts = [alert, ...alerts.filter((a) => a.number !== alert.number)].slice(0, MAX_ALERTS);
  drawAlerts();
  loadList(); // the new SLA state now, not at the next poll
  if (alert.number === selected) loadDetail();
}

const HANDLERS = {
  TicketSlaAlert: onSlaAlert,
  dropped: () => loadList(), // the hub dropped events for this page: the list is the truth
};

function setLive(state) {
  const live = $("live");
  live.dataset.state = state;
  live.dataset.i18n = { open: "tickets.live", closed: "tickets.offline" }[state] ?? "tickets.connecting";
  live.textContent = t(live.dataset.i18n);
}

// -- actions ---------------------------------------------------------------------------------
// Runs one change on the shown ticket, then reloads it and the list; a refusal shows its reason.
async function act(path, body, after = () => {}) {
  if (busy || !selected) return;
  busy = true;
  showError("");
  drawDetail();
  try {
    await post(`/api/tickets/${encodeURIComponent(selected)}${path}`, body);
    after();
  } catch (error) {
    showError(error.message);
  } finally {
    busy = false;
  }
  await Promise.all([loadDetail(), loadList()]);
}

function move(status) {
  const note = $("dt-move-note").value.trim();
  act("/status", { status, note }, () => {
    $("dt-move-note").value = "";
  });
}

function addNote(event) {
  event.preventDefault();
  const text = $("note-text").value.trim();
  if (!text) {
    $("note-text").focus();
    return;
  }
  act("/notes", { text, public: $("note-public").checked }, () => {
    $("note-text").value = "";
    $("note-public").checked = false;
  });
}

function compensate(event) {
  event.preventDefault();
  const kind = $("comp-kind").value;
  const yuan = Number($("comp-amount").value || "0");
  if (!kind || !Number.isFinite(yuan) || yuan < 0 || (yuan === 0 && kind !== "resend")) {
    showError(t("ticket.amountInvalid"));
    $("comp-amount").focus();
    return;
  }
  const body = { kind, amount_fen: Math.round(yuan * 100), note: $("comp-note").value.trim() };
  act("/compensations", body, () => {
    $("comp-amount").value = "";
    $("comp-note").value = "";
  });
}

function decide(comp, approve) {
  act(`/compensations/${comp.id}/decision`, { approve });
}

// -- CSV export (of the list as loaded) --------------------------------------------------------
function csvCell(value) {
  let text = value == null ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`; // a spreadsheet must not run it as a formula
  return `"${text.replace(/"/g, '""')}"`;
}

function exportCsv() {
  const columns = [
    ["col.number", (x) => x.number],
    ["col.category", (x) => categoryLabel(x.category)],
    ["col.priority", (x) => label("priority", x.priority)],
    ["col.ticketStatus", (x) => statusLabel(x.status)],
    ["col.order", (x) => x.order_no || ""],
    ["col.customer", (x) => x.customer_name],
    ["col.party", (x) => partyLabel(x.responsible_party)],
    ["col.opened", (x) => formatTime(x.opened_at)],
    ["col.due", (x) => (x.due_at ? formatTime(x.due_at) : "")],
    ["col.sla", (x) => slaView(x).text],
    ["col.compensation", (x) => (x.compensation_fen / 100).toFixed(2)],
    ["col.description", (x) => x.description],
  ];
  const lines = [
    columns.map(([key]) => csvCell(t(key))).join(","),
    ...tickets.map((x) => columns.map(([, get]) => csvCell(get(x))).join(",")),
  ];
  // A BOM so that spreadsheet programs read the Chinese as UTF-8.
  const blob = new Blob(["\ufeff", lines.join("\r\n"), "\r\n"], { type: "text/csv;charset=utf-8" });
  const stamp = new Date().toISOString().slice(0, 16).replace(/[-:T]/g, "");
  const link = el("a");
  link.href = URL.createObjectURL(blob);
  link.download = `tickets-${stamp}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

// -- start -----------------------------------------------------------------------------------
async function start() {
  initLang();
  applyTranslations();
  bindLangToggle($("lang-toggle"), () => {
    drawAccount(me);
    fillFilters();
    drawList();
    drawDetail();
    drawAlerts();
  });
  bindLogout();
  $("filter-status").addEventListener("change", loadList);
  $("filter-category").addEventListener("change", loadList);
  $("filter-party").addEventListener("change", pickQueue);
  $("refresh").addEventListener("click", () => Promise.all([loadList(), loadDetail()]));
  $("export-csv").addEventListener("click", exportCsv);
  $("note-form").addEventListener("submit", addNote);
  $("comp-form").addEventListener("submit", compensate);
  $("dt-followup-again").addEventListener("click", () => act("/followups", {}));
  [me, meta] = await Promise.all([getJson("/api/auth/me"), getJson("/api/tickets/meta")]);
  drawAccount(me);
  fillFilters();
  const queue = new URLSearchParams(location.search).get("party");
  if (meta.parties.some((party) => party.code === queue)) $("filter-party").value = queue;
  followEvents({ // before the first load: an alert meanwhile is not missed
    handlers: HANDLERS,
    onState: setLive,
    onOpen: (reconnecting) => {
      if (reconnecting) loadList(); // alerts missed meanwhile show as SLA states in the list
    },
    checkLogin: () => api("/api/auth/me"),
  });
  await loadList();
  const asked = new URLSearchParams(location.search).get("number");
  if (asked && /^[\d \-]{6,24}$/.test(asked)) select(asked.replace(/[\s-]/g, ""));
  setInterval(tick, 1000);
  setInterval(() => {
    if (!busy) loadList();
  }, REFRESH_MS);
}

start().catch(console.error);
