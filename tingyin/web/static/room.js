// The listening room (听音室): a tile per agent (state and time in it, the call's length, who
// calls about which order, the last words), the queues' figures, and live alerts that light the
// tile and list the moment into the call. GET /api/room draws it once; /ws/events keeps it live
// (state sync from events, not video). A tile opens the call beside the wallboard: its order
// card and transcript as the agent sees them, the agent's desk as they type (room-mirror.js),
// and 监听 / 耳语 / 强插 through room-audio.js (or 立体声, listen-only, through room-stereo.js).
// Drawn with textContent only: names, words and order data come from callers and data files.
import { bindLogout, drawAccount } from "./account.js";
import {
  applyTranslations, bindLangToggle, formatClock, formatSeconds, has, initLang, t,
} from "./i18n.js";
import { followEvents } from "./live.js";
import { initRoomAudio, leave, monitor } from "./room-audio.js";
import {
  dropMirror, drawMirror, initMirror, loadMirror, mirrorEvent, mirroredOrderNo,
} from "./room-mirror.js";
import { initStereo, startStereo, stereoOn, stereoStatus, stopStereo } from "./room-stereo.js";

// This page's own texts (the shared ones come from i18n.js).
const TEXTS = {
  zh: {
    pageTitle: "听音室 · 听音", title: "听音室", waiting: "排队中", longest: "最长等待",
    answered: "今日接起", abandoned: "今日放弃", serviceLevel: "服务水平（{s} 秒）",
    alerts: "实时预警", noAlerts: "暂无预警", noAgents: "还没有坐席", transcript: "实时转写",
    listen: "监听", whisper: "耳语", barge: "强插", stereo: "立体声", stop: "结束", close: "关闭",
    noCall: "当前没有通话", callEnded: "通话已结束", onCall: "通话 {d}", held: "保持中",
    order: "订单 {no}", caller: "来电 {n}", agentOf: "坐席 {name}", amount: "¥{yuan}",
    remarks: "备注：{text}", noOrder: "没有订单信息", legCaller: "客户", legAgent: "坐席",
    legSystem: "系统", at: "第 {t}", ended: "已结束", ticket: "工单 {no}",
    agentPicked: "坐席正在查看",
    "mon.idle": "", "mon.listen": "正在监听…", "mon.whisper": "正在耳语（仅坐席能听到）…",
    "mon.barge": "已强插（双方都能听到）…", "mon.connecting": "连接中…",
    "mon.unavailable": "此服务器不能监听（没有媒体服务）", "mon.forbidden": "无权监听",
    "mon.lost": "连接已断开",
  },
  en: {
    pageTitle: "Listening room · Tingyin", title: "Listening room", waiting: "Waiting",
    longest: "Longest wait", answered: "Answered today", abandoned: "Abandoned today",
    serviceLevel: "Service level ({s} s)", alerts: "Live alerts", noAlerts: "No alerts",
    noAgents: "No agents yet", transcript: "Live transcript", listen: "Listen",
    whisper: "Whisper", barge: "Barge in", stereo: "Stereo", stop: "Leave", close: "Close",
    noCall: "Not on a call", callEnded: "The call has ended", onCall: "On call {d}",
    held: "On hold", order: "Order {no}", caller: "Caller {n}", agentOf: "Agent {name}",
    amount: "¥{yuan}", remarks: "Remarks: {text}", noOrder: "No order found",
    legCaller: "Caller", legAgent: "Agent", legSystem: "System", at: "at {t}", ended: "ended",
    ticket: "Ticket {no}", agentPicked: "Open on the agent's desk",
    "mon.idle": "", "mon.listen": "Listening…", "mon.whisper": "Whispering (the agent only)…",
    "mon.barge": "Barged in (both hear you)…", "mon.connecting": "Connecting…",
    "mon.unavailable": "This server cannot listen in (no media service)",
    "mon.forbidden": "Not allowed to listen", "mon.lost": "Connection lost",
  },
};
const SEVERITY = { info: 1, warning: 2, critical: 3 };
const TILE_LINES = 3;
const MAX_ALERTS = 100;

let lang = "zh";
let me = null;
let rules = {}; // name → {zh, en, severity}
let queues = null;
let clockSkew = 0; // the server's clock minus ours, ms
const agents = new Map(); // user_id → {user_id, display_name, username, state, since, call_id}
const calls = new Map(); // call_id → {call_id, started_at, answered_at, agent_id, …, lines}
let alerts = []; // newest first
let panelCall = null; // the call_id in the side panel
let panelAgent = null; // the agent whose tile opened it
let panelLines = [];
let monitorState = { state: "idle", mode: "" };
let focusAt = null; // the moment to highlight in the panel's transcript
let focusPending = false; // scroll to it at the next drawing
let queuesAt = Date.now(); // when the queue figures were loaded

const $ = (id) => document.getElementById(id);

function q(key, values = null) {
  const text = TEXTS[lang][key] ?? TEXTS.zh[key] ?? key;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

async function api(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (response.status === 401) {
    location.replace("/login");
    throw new Error("not logged in");
  }
  return response;
}

const now = () => Date.now() + clockSkew;
const since = (iso) => (iso ? Math.max(0, (now() - new Date(iso).getTime()) / 1000) : null);

function initials(name) {
  const clean = (name || "?").trim();
  if (/^[\u3400-\u9fff]+$/.test(clean)) return clean.slice(-2); // 王小听 → 小听
  return clean.split(/\s+/).map((w) => w[0]).join("").slice(0, 2).toUpperCase();
}

function ruleLabel(name) {
  const rule = rules[name];
  return rule ? rule[lang] || rule.zh : name;
}

function legLabel(leg) {
  return q({ caller: "legCaller", agent: "legAgent" }[leg] || "legSystem");
}

// -- loading ---------------------------------------------------------------------------------
async function load() {
  const response = await api("/api/room");
  if (!response.ok) throw new Error(`/api/room: HTTP ${response.status}`);
  const room = await response.json();
  clockSkew = new Date(room.now).getTime() - Date.now();
  rules = room.rules;
  queues = room.queues;
  queuesAt = Date.now();
  agents.clear();
  for (const agent of room.agents) agents.set(agent.user_id, agent);
  calls.clear();
  for (const call of room.calls) calls.set(call.call_id, { ...call, alerts: [] });
  alerts = room.alerts;
  for (const alert of alerts) if (alert.live) calls.get(alert.call_id)?.alerts.push(alert);
  drawAll();
  if (panelAgent) loadMirror(panelAgent).then(drawPanel).catch(console.error);
}

let queueReload = null;
function reloadQueuesSoon() {
  clearTimeout(queueReload);
  queueReload = setTimeout(() => refreshQueues().catch(console.error), 500);
}

async function refreshQueues() {
  const response = await api("/api/room");
  if (response.ok) {
    queues = (await response.json()).queues;
    queuesAt = Date.now();
    drawQueues();
  }
}

// -- drawing ---------------------------------------------------------------------------------
function drawAll() {
  drawQueues();
  drawTiles();
  drawAlerts();
  if (panelCall || panelAgent) drawPanel();
}

function drawQueues() {
  const figures = queues;
  $("q-waiting").textContent = figures ? String(figures.waiting) : "—";
  $("q-longest").textContent = figures ? formatSeconds(longestWait()) : "—";
  $("q-answered").textContent = figures ? String(figures.answered_today) : "—";
  $("q-abandoned").textContent = figures ? String(figures.abandoned_today) : "—";
  $("q-sl-label").textContent = q("serviceLevel", { s: figures?.service_level_seconds ?? 20 });
  const level = figures?.service_level;
  $("q-sl").textContent = level == null ? "—" : `${(level * 100).toFixed(0)}%`;
}

// The longest wait as loaded, grown by the time since (while anyone waits).
function longestWait() {
  if (!queues) return 0;
  return queues.longest_wait_seconds + (queues.waiting ? (Date.now() - queuesAt) / 1000 : 0);
}

function agentCall(agent) {
  const call = agent.call_id ? calls.get(agent.call_id) : null;
  if (call) return call;
  for (const c of calls.values()) if (c.agent_id === agent.user_id) return c;
  return null;
}

function worstAlert(call) {
  let worst = null;
  for (const alert of call?.alerts || []) {
    if (!worst || SEVERITY[alert.severity] > SEVERITY[worst.severity]) worst = alert;
  }
  return worst;
}

function drawTiles() {
  const box = $("tiles");
  const list = [...agents.values()].sort((a, b) =>
    (a.state === "offline") - (b.state === "offline") || a.username.localeCompare(b.username));
  box.replaceChildren(...list.map(tile));
  if (!list.length) box.append(el("p", "empty", q("noAgents")));
}

function tile(agent) {
  const call = agentCall(agent);
  const node = el("div", "rm-tile"); // a button holding lists: a div with the button's role
  node.setAttribute("role", "button");
  node.tabIndex = 0;
  node.dataset.agent = String(agent.user_id);
  node.dataset.testid = `tile-${agent.username}`;
  node.dataset.state = agent.state;
  node.setAttribute("aria-pressed", String(panelAgent === agent.user_id));
  const worst = worstAlert(call);
  if (worst) node.dataset.alert = worst.severity;
  const head = el("div", "rm-tile-head");
  head.append(el("span", "rm-avatar", initials(agent.display_name || agent.username)));
  const who = el("div", "rm-who");
  who.append(el("span", "rm-name", agent.display_name || agent.username));
  const state = el("span", "rm-state");
  state.dataset.state = agent.state;
  const label = has(`agentState.${agent.state}`) ? t(`agentState.${agent.state}`) : agent.state;
  state.append(el("span", "rm-state-label", label));
  state.append(el("span", "rm-clock", formatSeconds(since(agent.since))));
  state.querySelector(".rm-clock").dataset.since = agent.since || "";
  who.append(state);
  head.append(who);
  node.append(head);
  if (call) node.append(callBlock(call));
  if (worst) node.append(el("span", "rm-tile-alert", ruleLabel(worst.rule)));
  node.addEventListener("click", () => {
    openPanel(agent.user_id, call?.call_id || null).catch(console.error);
  });
  node.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      node.click();
    }
  });
  return node;
}

// The call's length: from the agent's hello (or the answer, after a reload).
const talkSince = (call) => call.talk_since || call.answered_at || call.started_at;

function callBlock(call) {
  const block = el("div", "rm-call");
  const facts = el("div", "rm-facts");
  const talk = el("span", "rm-duration", q("onCall", { d: formatSeconds(since(talkSince(call))) }));
  talk.dataset.since = talkSince(call);
  talk.dataset.testid = "duration";
  facts.append(talk);
  if (call.held) facts.append(el("span", "rm-chip rm-held", q("held")));
  if (call.caller_kind) {
    const kind = has(`kind.${call.caller_kind}`) ? t(`kind.${call.caller_kind}`) : call.caller_kind;
    facts.append(el("span", "rm-chip", kind));
  }
  for (const flag of call.flags || []) {
    facts.append(el("span", "rm-chip rm-flag", has(`flag.${flag}`) ? t(`flag.${flag}`) : flag));
  }
  if (call.order_no) {
    const order = el("span", "rm-order-no", q("order", { no: call.order_no }));
    order.dataset.testid = "order-no";
    facts.append(order);
  }
  block.append(facts);
  const lines = el("ol", "rm-tile-lines");
  lines.dataset.testid = "tile-lines";
  for (const line of call.lines.slice(-TILE_LINES)) {
    const li = el("li");
    li.dataset.leg = line.leg;
    li.append(el("span", "who", legLabel(line.leg)), el("span", "text", line.text));
    lines.append(li);
  }
  block.append(lines);
  return block;
}

function drawAlerts() {
  const list = $("alerts");
  list.replaceChildren(...alerts.map(alertItem));
  $("alerts-empty").hidden = alerts.length > 0;
}

function alertItem(alert) {
  const li = el("li", "rm-alert");
  li.dataset.severity = alert.severity;
  li.dataset.call = alert.call_id;
  const agent = agents.get(alert.agent_id);
  const head = el("div", "rm-alert-head");
  head.append(el("span", "rm-alert-rule", ruleLabel(alert.rule)));
  head.append(el("span", "rm-muted", formatClock(alert.at)));
  li.append(head);
  const body = el("div", "rm-alert-body");
  body.append(el("span", "rm-alert-who", agent ? agent.display_name || agent.username : "—"));
  if (alert.kind === "phrase") body.append(el("span", "rm-alert-text", `「${alert.text}」`));
  if (alert.kind === "sla") body.append(el("span", "rm-alert-text", q("ticket", { no: alert.text })));
  const jump = el("button", "rm-jump", q("at", { t: formatSeconds(alert.at_seconds) }));
  jump.type = "button";
  jump.dataset.testid = "jump";
  const live = calls.has(alert.call_id);
  jump.addEventListener("click", () => {
    if (live) {
      const agentId = calls.get(alert.call_id).agent_id || null;
      openPanel(agentId, alert.call_id, alert.at_seconds).catch(console.error);
    } else {
      location.assign(`/qa?call=${encodeURIComponent(alert.call_id)}`); // the recording, in QA
    }
  });
  body.append(jump);
  if (!live) body.append(el("span", "rm-muted", q("ended")));
  li.append(body);
  return li;
}

// -- the side panel: the call as the agent sees it ---------------------------------------------
async function openPanel(agentId, callId, at = null) {
  if (panelCall && panelCall !== callId && monitorState.state === "monitoring") leave();
  if (panelCall !== callId) stopStereo();
  panelAgent = agentId;
  focusAt = at;
  focusPending = at != null;
  $("panel").hidden = false;
  document.body.classList.add("rm-panel-open");
  const loads = [loadMirror(agentId ?? calls.get(callId)?.agent_id)];
  if (panelCall !== callId) {
    panelCall = callId;
    panelLines = calls.get(callId)?.lines.slice() || [];
    if (callId) loads.push(loadTranscript(callId), loadContext(callId));
  }
  await Promise.all(loads);
  drawTiles();
  drawPanel();
}

async function loadTranscript(callId) {
  const response = await api(`/api/calls/${encodeURIComponent(callId)}/transcript`);
  if (!response.ok || panelCall !== callId) return;
  const body = await response.json();
  const stored = body.segments.map((s) => ({ leg: s.leg, start: s.start, text: s.text }));
  panelLines = mergeLines(stored, panelLines);
}

async function loadContext(callId) {
  const response = await api(`/api/calls/${encodeURIComponent(callId)}/context`);
  const call = calls.get(callId);
  if (response.ok && call) call.context = await response.json();
}

function mergeLines(a, b) {
  const seen = new Map();
  for (const line of [...a, ...b]) seen.set(`${line.leg}:${line.start}`, line);
  return [...seen.values()].sort((x, y) => x.start - y.start);
}

function closePanel() {
  leave();
  stopStereo();
  monitorState = { state: "idle", mode: "" };
  panelCall = panelAgent = null;
  $("panel").hidden = true;
  document.body.classList.remove("rm-panel-open");
  drawTiles();
}

function drawPanel() {
  const call = panelCall ? calls.get(panelCall) : null;
  const agent = agents.get(panelAgent ?? call?.agent_id);
  const name = agent ? agent.display_name || agent.username : "";
  $("panel-title").textContent = agent ? q("agentOf", { name }) : "—";
  const sub = [];
  if (call?.caller) sub.push(q("caller", { n: call.caller }));
  if (call) sub.push(q("onCall", { d: formatSeconds(since(talkSince(call))) }));
  $("panel-sub").textContent = call ? sub.join(" · ") : panelCall ? q("callEnded") : q("noCall");
  const on = monitorState.state === "monitoring";
  for (const button of document.querySelectorAll(".rm-mode")) {
    // QA listens; whispering and barging in are the supervisors' (softphone/api.py)
    button.hidden = button.dataset.mode !== "listen" && me?.role === "qa";
    button.disabled = !call;
    button.setAttribute("aria-pressed", String(on && monitorState.mode === button.dataset.mode));
  }
  $("monitor-stop").hidden = monitorState.state !== "monitoring" && !stereoOn();
  $("monitor-stereo").disabled = !call;
  drawOrder(call, agent?.user_id);
  drawMirror($("panel-draft"), agent?.user_id ?? null, panelCall, Boolean(panelCall && !call));
  drawPanelLines();
}

function drawOrder(call, agentId) {
  const box = document.querySelector(".rm-order");
  box.replaceChildren();
  if (!call) return;
  const orders = call.context?.orders || [];
  const picked = mirroredOrderNo(agentId, call.call_id); // the one on the agent's card
  const order = orders.find((o) => o.order_no === picked) || orders[0];
  if (!order) {
    box.append(el("p", "rm-muted", call.order_no ? q("order", { no: call.order_no }) : q("noOrder")));
    return;
  }
  const head = el("div", "rm-order-head");
  head.append(el("strong", "", q("order", { no: order.order_no })));
  if (order !== orders[0]) head.append(el("span", "rm-chip rm-flag", q("agentPicked")));
  const status = has(`order.${order.status}`) ? t(`order.${order.status}`) : order.status;
  head.append(el("span", "rm-chip", status));
  box.append(head);
  box.append(el("p", "", `${order.merchant} · ${order.store}`));
  const amount = q("amount", { yuan: (order.amount_fen / 100).toFixed(2) });
  box.append(el("p", "rm-muted", `${order.rider || "—"} · ${amount}`));
  const items = el("ul", "rm-items");
  for (const item of order.items) {
    const spec = item.spec ? `（${item.spec}）` : "";
    items.append(el("li", "", `${item.name} ×${item.quantity}${spec}`));
  }
  box.append(items);
  if (order.remarks) {
    const remarks = el("p", "rm-remarks", q("remarks", { text: order.remarks }));
    remarks.dataset.flagged = String(order.flagged_remarks.length > 0);
    box.append(remarks);
  }
  for (const anomaly of order.anomalies) {
    box.append(el("p", `rm-anomaly rm-${anomaly.severity}`, anomaly.message));
  }
}

function drawPanelLines() {
  const list = $("panel-lines");
  const phrases = (calls.get(panelCall)?.alerts || []).filter((a) => a.kind === "phrase");
  let focus = null;
  list.replaceChildren(...panelLines.map((line) => {
    const li = el("li");
    li.dataset.leg = line.leg;
    if (phrases.some((a) => Math.abs(a.at_seconds - line.start) < 0.06)) li.dataset.alert = "true";
    if (focusAt != null && line.start <= focusAt + 0.05) focus = li; // the last line begun by then
    li.append(el("span", "at", formatSeconds(line.start)), el("span", "who", legLabel(line.leg)),
      el("span", "text", line.text));
    return li;
  }));
  if (focus) {
    focus.classList.add("rm-focus");
    if (focusPending) focus.scrollIntoView({ block: "center" }); // once, not on every line
    focusPending = false;
  } else {
    list.scrollTop = list.scrollHeight; // follow the conversation
  }
}

function drawMonitor(note = "") {
  const key = monitorState.state === "monitoring" ? `mon.${monitorState.mode}` : "mon.idle";
  const stereo = monitorState.state === "monitoring" ? "" : stereoStatus();
  $("monitor-status").textContent = note || stereo || q(key);
  drawPanel();
}

// -- live events -----------------------------------------------------------------------------
function call(id, at) {
  if (!calls.has(id)) {
    calls.set(id, { call_id: id, started_at: at, answered_at: null, agent_id: 0, caller: "",
      caller_kind: "", flags: [], order_no: null, lines: [], alerts: [] });
  }
  return calls.get(id);
}

function redraw(callId = null) {
  drawTiles();
  if (callId && callId === panelCall) drawPanel();
}

const handlers = {
  AgentStateChanged(e) {
    const agent = agents.get(e.user_id) || { user_id: e.user_id, username: e.username };
    if (agent.call_id && agent.call_id !== e.call_id) dropMirror(agent.call_id, e.user_id);
    Object.assign(agent, { display_name: e.display_name, state: e.state, reason: e.reason,
      since: e.since || e.at, call_id: e.call_id || null });
    agents.set(e.user_id, agent);
    if (e.state === "on_call" && calls.has(e.call_id)) calls.get(e.call_id).agent_id = e.user_id;
    redraw(e.call_id);
  },
  CallRinging(e) {
    Object.assign(call(e.call_id, e.at), { started_at: e.at });
    redraw();
  },
  CallAnswered(e) {
    call(e.call_id, e.at).answered_at = e.at;
    redraw(e.call_id);
  },
  AgentLeg(e) {
    const c = call(e.call_id, e.at);
    if (e.state === "answered") Object.assign(c, { agent_id: e.agent_id, talk_since: e.at });
    if (["answered", "resumed"].includes(e.state)) c.held = false;
    else if (e.state === "held") c.held = true;
    else if (["ended", "failed"].includes(e.state)) {
      if (c.agent_id === e.agent_id) c.agent_id = 0;
      dropMirror(e.call_id, e.agent_id);
    }
    redraw(e.call_id);
  },
  CallerContextReady(e) {
    Object.assign(call(e.call_id, e.at), { caller: e.caller, caller_kind: e.caller_kind,
      name: e.name, flags: e.flags, order_no: e.orders[0]?.order_no || null, context: e });
    redraw(e.call_id);
  },
  TranscriptFinal(e) {
    const c = call(e.call_id, e.at);
    const line = { leg: e.leg, start: e.start, text: e.text };
    c.lines = mergeLines(c.lines, [line]).slice(-50);
    if (e.call_id === panelCall) {
      panelLines = mergeLines(panelLines, [line]);
      $("panel-partial").textContent = "";
    }
    redraw(e.call_id);
  },
  TranscriptPartial(e) {
    if (e.call_id !== panelCall) return;
    $("panel-partial").textContent = e.text ? `${legLabel(e.leg)}：${e.text}` : "";
  },
  CallAlert(e) {
    const alert = { ...e, live: true };
    alerts = [alert, ...alerts].slice(0, MAX_ALERTS);
    call(e.call_id, e.at).alerts.push(alert);
    drawAlerts();
    redraw(e.call_id);
  },
  CallEnded(e) {
    ended(e.call_id);
  },
  CallFailed(e) {
    ended(e.call_id);
  },
  CallQueued: reloadQueuesSoon,
  QueueLeft: reloadQueuesSoon,
  DeskMirror(e) {
    mirrorEvent(e);
    if (e.agent_id === (panelAgent ?? calls.get(panelCall)?.agent_id)) drawPanel();
  },
  MonitorLeg() {},
};

function ended(callId) {
  calls.delete(callId);
  dropMirror(callId);
  for (const alert of alerts) if (alert.call_id === callId) alert.live = false;
  if (callId === panelCall && monitorState.state === "monitoring") {
    leave();
    monitorState = { state: "idle", mode: "" };
  }
  drawAlerts();
  redraw(callId);
  reloadQueuesSoon();
}

function tick() {
  for (const node of document.querySelectorAll(".rm-clock[data-since]")) {
    node.textContent = formatSeconds(since(node.dataset.since));
  }
  for (const node of document.querySelectorAll(".rm-duration[data-since]")) {
    node.textContent = q("onCall", { d: formatSeconds(since(node.dataset.since)) });
  }
  if (queues?.waiting) $("q-longest").textContent = formatSeconds(longestWait());
}

function translatePage() {
  applyTranslations();
  document.title = q("pageTitle");
  for (const node of document.querySelectorAll("[data-rm]")) node.textContent = q(node.dataset.rm);
  for (const node of document.querySelectorAll("[data-rm-aria]")) {
    node.setAttribute("aria-label", q(node.dataset.rmAria));
  }
}

async function start() {
  lang = initLang();
  translatePage();
  bindLogout();
  bindLangToggle($("lang-toggle"), () => {
    lang = document.documentElement.lang.startsWith("en") ? "en" : "zh";
    translatePage();
    drawAll();
    drawMonitor();
  });
  const response = await api("/api/auth/me");
  me = await response.json();
  drawAccount(me);
  $("panel-close").addEventListener("click", closePanel);
  initMirror({ api });
  initRoomAudio($("monitor-audio"), {
    onState(message) {
      monitorState = { state: message.state, mode: message.mode || "" };
      const why = `mon.${message.reason}`;
      drawMonitor(message.state === "idle" && why in TEXTS.zh ? q(why) : "");
    },
    onError(message) {
      const why = `mon.${message}`;
      drawMonitor(why in TEXTS.zh ? q(why) : message); // the hub's own words otherwise
    },
  });
  for (const button of document.querySelectorAll(".rm-mode")) {
    button.addEventListener("click", () => {
      if (!panelCall) return;
      stopStereo(); // one way of listening at a time
      drawMonitor(q("mon.connecting"));
      monitor(panelCall, button.dataset.mode);
    });
  }
  initStereo($("monitor-stereo"), () => drawMonitor());
  $("monitor-stereo").addEventListener("click", () => {
    if (!panelCall) return;
    leave(); // listen-only: the WebRTC headset (and its microphone) goes first
    monitorState = { state: "idle", mode: "" };
    startStereo(panelCall);
  });
  $("monitor-stop").addEventListener("click", () => {
    leave();
    stopStereo();
    monitorState = { state: "idle", mode: "" };
    drawMonitor();
  });
  try {
    await load();
  } catch (error) {
    $("load-error").textContent = String(error.message || error);
    $("load-error").hidden = false;
  }
  followEvents({
    handlers: { ...handlers, dropped: () => load().catch(console.error) },
    onState: (state) => { $("live").dataset.state = state; },
    onOpen: (reconnecting) => { if (reconnecting) load().catch(console.error); },
    checkLogin: () => api("/api/auth/me"),
  });
  setInterval(tick, 1000);
}

start().catch(console.error);
