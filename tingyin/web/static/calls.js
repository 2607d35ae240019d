// The calls page: the CDR list from /api/calls, kept live by /ws/events.
// Everything is drawn with textContent (never innerHTML): numbers and digits come from callers.
import { followEvents } from "./live.js";
import { bindLogout, drawAccount } from "./account.js";
import {
  applyTranslations, bindLangToggle, formatSeconds, formatTime, initLang, t,
} from "./i18n.js";

// Only hides the play buttons: the server refuses recordings to every other role anyway.
const RECORDING_ROLES = ["supervisor", "qa", "admin"];
const PAGE_SIZE = 100;
const FINISHED = new Set(["ended", "missed", "failed"]);

const calls = new Map(); // call id → call, as /api/calls returns it (plus live changes)
let me = null;
let filter = "";

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) {
    location.replace("/login");
    throw new Error("not logged in");
  }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response;
}

// -- drawing ---------------------------------------------------------------------------------
function seconds(from, to) {
  if (!from) return null;
  return ((to ? Date.parse(to) : Date.now()) - Date.parse(from)) / 1000;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function recordingCell(call) {
  const td = document.createElement("td");
  const mayListen = me && RECORDING_ROLES.includes(me.role);
  if (mayListen && call.recording_path && FINISHED.has(call.status)) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "play";
    button.textContent = `▶ ${t("calls.play")}`;
    button.addEventListener("click", () => play(call));
    td.append(button);
  }
  return td;
}

function transcriptCell(call) {
  const td = document.createElement("td");
  if (call.status !== "ringing") {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "play";
    button.textContent = t("calls.transcript");
    button.addEventListener("click", () => openTranscript(call));
    td.append(button);
  }
  return td;
}

function drawRow(call) {
  const tr = document.createElement("tr");
  tr.dataset.id = call.id;
  tr.dataset.status = call.status;
  const status = document.createElement("td");
  const badge = document.createElement("span");
  badge.className = `status status-${call.status}`;
  badge.textContent = t(`status.${call.status}`);
  status.append(badge);
  tr.append(
    cell(formatTime(call.started_at)),
    cell(call.caller_number || "—", "number"),
    cell(call.dialed_number || "—", "number"),
    status,
    cell(formatSeconds(seconds(call.answered_at, call.ended_at)), "num duration"),
    cell(call.dtmf || "", "dtmf"),
    recordingCell(call),
    transcriptCell(call),
  );
  return tr;
}

function visible(call) {
  return !filter || call.status === filter;
}

function redrawAll() {
  const rows = [...calls.values()]
    .filter(visible)
    .sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at))
    .map(drawRow);
  $("call-rows").replaceChildren(...rows);
  $("empty").hidden = rows.length > 0;
}

function redrawOne(call) {
  const old = document.querySelector(`tr[data-id="${CSS.escape(call.id)}"]`);
  if (!visible(call)) {
    old?.remove();
  } else if (old) {
    old.replaceWith(drawRow(call));
  } else {
    $("call-rows").prepend(drawRow(call)); // a new call is the newest
  }
  $("empty").hidden = $("call-rows").children.length > 0;
}

// Running calls: their duration counts up.
function tick() {
  for (const tr of document.querySelectorAll('tr[data-status="answered"]')) {
    const call = calls.get(tr.dataset.id);
    if (call) tr.querySelector(".duration").textContent = formatSeconds(seconds(call.answered_at));
  }
}

// -- loading ---------------------------------------------------------------------------------
async function loadCalls({ older = false } = {}) {
  const params = new URLSearchParams({ limit: PAGE_SIZE });
  if (filter) params.set("status", filter);
  if (older) {
    const oldest = [...calls.values()].filter(visible)
      .reduce((a, c) => (!a || Date.parse(c.started_at) < Date.parse(a) ? c.started_at : a), null);
    if (oldest) params.set("before", oldest);
  }
  try {
    const page = await (await api(`/api/calls?${params}`)).json();
    if (!older) calls.clear();
    for (const call of page) calls.set(call.id, call);
    $("more").hidden = page.length < PAGE_SIZE;
    $("load-error").hidden = true;
    redrawAll();
  } catch (error) {
    $("load-error").hidden = false;
    console.error(error);
  }
}

async function fetchCall(id) {
  const call = await (await api(`/api/calls/${encodeURIComponent(id)}`)).json();
  calls.set(call.id, call);
  redrawOne(call);
}

// -- live events -----------------------------------------------------------------------------
function change(id, update) {
  const call = calls.get(id);
  if (!call) {
    fetchCall(id).catch(console.error); // we missed its start: the store has it
    return;
  }
  Object.assign(call, typeof update === "function" ? update(call) : update);
  redrawOne(call);
}

const HANDLERS = {
  CallRinging(e) {
    const call = {
      id: e.call_id, started_at: e.at, caller_number: e.caller, dialed_number: e.dialed,
      status: "ringing", answered_at: null, ended_at: null, recording_path: null, dtmf: "",
    };
    calls.set(call.id, call);
    redrawOne(call);
  },
  CallAnswered: (e) => change(e.call_id, { status: "answered", answered_at: e.at }),
  CallRecordingStarted: (e) => change(e.call_id, { recording_path: e.path }),
  DtmfReceived: (e) => change(e.call_id, (c) => ({ dtmf: (c.dtmf || "") + e.digit })),
  CallEnded: (e) => change(e.call_id, (c) => ({
    status: c.answered_at ? "ended" : "missed",
    ended_at: e.at,
    recording_path: e.recording_path || c.recording_path,
  })),
  CallFailed: (e) => change(e.call_id, (c) => ({ status: "failed", ended_at: c.ended_at || e.at })),
  TranscriptFinal(e) {
    if (e.call_id !== shownTranscript) return;
    partials.delete(e.leg);
    appendLine(e);
    drawPartials();
  },
  TranscriptPartial(e) {
    if (e.call_id !== shownTranscript) return;
    if (e.text) partials.set(e.leg, e.text);
    else partials.delete(e.leg);
    drawPartials();
  },
  TranscriptLegStatus(e) {
    if (e.call_id === shownTranscript && e.status === "complete" && e.source === "post") {
      openTranscript(calls.get(e.call_id)); // filled from the recording: show the whole
    }
  },
  // The server's outbox overflowed: some events are lost, so reload from the store.
  dropped: () => loadCalls(),
};

function setLive(state) {
  const live = $("live");
  live.dataset.state = state;
  live.dataset.i18n = { open: "calls.live", closed: "calls.offline" }[state] ?? "calls.connecting";
  live.textContent = t(live.dataset.i18n);
}

// -- transcript: what was said so far, growing live --------------------------------------------
let shownTranscript = null;
const partials = new Map(); // leg → the words being spoken now

function appendLine(segment) {
  const li = document.createElement("li");
  li.dataset.leg = segment.leg;
  const at = document.createElement("span");
  at.className = "at";
  at.textContent = formatSeconds(Math.floor(segment.start));
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = t(`leg.${segment.leg}`);
  const text = document.createElement("span");
  text.textContent = segment.text;
  li.append(at, who, text);
  const list = $("transcript-lines");
  list.append(li);
  list.scrollTop = list.scrollHeight;
}

function drawPartials() {
  $("transcript-partial").textContent = [...partials]
    .map(([leg, text]) => `${t(`leg.${leg}`)}: ${text}…`)
    .join("  ");
}

async function openTranscript(call) {
  if (!call) return;
  shownTranscript = call.id;
  partials.clear();
  $("transcript-label").textContent = `${call.caller_number} · ${formatTime(call.started_at)}`;
  $("transcript").hidden = false;
  const body = await (await api(`/api/calls/${encodeURIComponent(call.id)}/transcript`)).json();
  if (shownTranscript !== call.id) return;
  $("transcript-lines").replaceChildren();
  for (const segment of body.segments) appendLine(segment);
  drawPartials();
  $("transcript-note").hidden = !body.legs.some((leg) => leg.status !== "complete"
    && leg.status !== "live");
}

function closeTranscript() {
  shownTranscript = null;
  $("transcript").hidden = true;
}

// -- recordings ------------------------------------------------------------------------------
function play(call) {
  const audio = $("audio");
  $("player-label").textContent = `${call.caller_number} · ${formatTime(call.started_at)}`;
  $("player").hidden = false;
  audio.src = `/api/calls/${encodeURIComponent(call.id)}/recording`;
  audio.play().catch(console.error);
}

function closePlayer() {
  const audio = $("audio");
  audio.pause();
  audio.removeAttribute("src");
  $("player").hidden = true;
}

// -- start -----------------------------------------------------------------------------------
async function start() {
  initLang();
  applyTranslations();
  bindLangToggle($("lang-toggle"), () => {
    drawAccount(me);
    redrawAll();
  });
  bindLogout();
  $("player-close").addEventListener("click", closePlayer);
  $("transcript-close").addEventListener("click", closeTranscript);
  $("more").addEventListener("click", () => loadCalls({ older: true }));
  $("status-filter").addEventListener("change", (event) => {
    filter = event.target.value;
    loadCalls();
  });
  me = await (await api("/api/auth/me")).json();
  drawAccount(me);
  followEvents({
    handlers: HANDLERS,
    onState: setLive,
    onOpen: (reconnecting) => {
      if (reconnecting) loadCalls(); // catch up with what happened while we were away
    },
    checkLogin: () => api("/api/auth/me"),
  });
  await loadCalls();
  setInterval(tick, 1000);
}

start().catch(console.error);
