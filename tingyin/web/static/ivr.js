// The IVR page (IVR 自助语音): for a period (today, 7 or 30 calendar days in the site's zone) the
// summary figures, a table of the IVR's nodes with their drop-outs drawn as plain CSS bars, and
// one call's path through the nodes. Drawn with textContent only: node ids come from data files.
import { bindLogout, drawAccount } from "./account.js";
import {
  applyTranslations, bindLangToggle, formatSeconds, formatTime, has, initLang, t,
} from "./i18n.js";

const PERIODS = new Set([1, 7, 30]);
const REFRESH_MS = 60_000;

let me = null;
let days = 1;
let metrics = null; // the last GET /api/ivr/metrics
let path = null; // the last GET /api/ivr/calls/{id}/path
let pathProblem = ""; // the i18n key of the lookup's error, if any
let loadSeq = 0;

const $ = (id) => document.getElementById(id);

function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function label(prefix, value) {
  return value && has(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : value || "—";
}

function percent(rate) {
  return rate == null || Number.isNaN(rate) ? "—" : `${(rate * 100).toFixed(1)}%`;
}

function share(n, total) {
  return total ? t("ivr.shareOf", { pct: percent(n / total) }) : "";
}

async function api(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (response.status === 401) {
    location.replace("/login");
    throw new Error("not logged in");
  }
  return response;
}

// -- the figures -----------------------------------------------------------------------------
function drawPeriods() {
  for (const button of document.querySelectorAll(".iv-period")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.days) === days));
  }
}

function drawSummary() {
  const s = metrics?.summary;
  $("range").textContent = metrics
    ? t("ivr.range", { since: formatTime(metrics.since), until: formatTime(metrics.until) })
    : "";
  $("sum-entered").textContent = s ? String(s.entered) : "—";
  $("sum-other").textContent = s ? t("ivr.otherCounts", { error: s.error, open: s.in_progress }) : "";
  $("sum-containment").textContent = s ? percent(s.containment_rate) : "—";
  $("sum-contained").textContent = s ? t("ivr.containedOf", { n: s.contained }) : "";
  $("sum-queued").textContent = s ? String(s.queued) : "—";
  $("sum-queued-sub").textContent = s ? share(s.queued, s.entered) : "";
  $("sum-abandoned").textContent = s ? String(s.abandoned) : "—";
  $("sum-abandoned-sub").textContent = s ? share(s.abandoned, s.entered) : "";
  $("sum-avg").textContent = s && s.avg_seconds != null ? formatSeconds(s.avg_seconds) : "—";
}

function numberCell(value) {
  return el("td", "num", String(value));
}

function dropCell(node) {
  const td = el("td", "iv-drop");
  td.title = t("ivr.dropOutRate", { pct: percent(node.drop_out_rate) });
  const track = el("span", "iv-bar");
  track.setAttribute("aria-hidden", "true");
  const fill = el("span", "iv-bar-fill");
  fill.style.width = `${Math.min(100, Math.max(0, node.drop_out_rate * 100)).toFixed(1)}%`;
  track.append(fill);
  const count = el("span", "iv-drop-count", String(node.drop_outs));
  count.dataset.testid = "drop-outs";
  const rate = el("span", "iv-drop-rate", percent(node.drop_out_rate));
  td.append(track, count, rate);
  return td;
}

function drawNodes() {
  const rows = $("node-rows");
  const nodes = metrics?.nodes ?? [];
  rows.replaceChildren(...nodes.map((node) => {
    const tr = el("tr");
    tr.dataset.node = node.node;
    tr.dataset.testid = "node-row";
    if (node.drop_outs) tr.classList.add("iv-has-drops");
    tr.append(
      el("td", "iv-node", node.node || "—"),
      el("td", "iv-type", label("ivrType", node.type)),
      numberCell(node.visits),
      numberCell(node.calls),
      dropCell(node),
      numberCell(node.timeouts),
      numberCell(node.invalid),
    );
    return tr;
  }));
  $("nodes-empty").hidden = !metrics || nodes.length > 0;
}

function drawAll() {
  drawPeriods();
  drawSummary();
  drawNodes();
  drawPath();
}

async function load() {
  const seq = ++loadSeq;
  const problem = $("load-error");
  try {
    const response = await api(`/api/ivr/metrics?days=${days}`);
    if (seq !== loadSeq) return;
    if (response.status === 403) {
      problem.textContent = t("ivr.forbidden");
      problem.hidden = false;
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    if (seq !== loadSeq) return;
    metrics = body;
    problem.hidden = true;
  } catch (error) {
    if (seq !== loadSeq) return;
    console.error(error);
    problem.textContent = t("ivr.loadError");
    problem.hidden = false;
  }
  drawSummary();
  drawNodes();
}

function pickPeriod(event) {
  const asked = Number(event.currentTarget.dataset.days);
  if (!PERIODS.has(asked) || asked === days) return;
  days = asked;
  metrics = null;
  const url = new URL(location.href);
  url.searchParams.set("days", String(days));
  history.replaceState(null, "", url);
  drawAll();
  load();
}

// -- one call's path -------------------------------------------------------------------------
function offset(seconds) {
  return `+${formatSeconds(seconds)}`;
}

function stepItem(step) {
  const li = el("li", "iv-step");
  li.dataset.node = step.node;
  li.dataset.type = step.type;
  const at = el("span", "iv-step-at", offset(step.offset_seconds));
  at.title = formatTime(step.at);
  if (step.type === "end") {
    li.dataset.outcome = step.outcome || "";
    li.append(at, el("span", "iv-step-node", label("ivrOutcome", step.outcome)));
    return li;
  }
  li.append(at, el("span", "iv-step-node", step.node || "—"),
    el("span", "iv-step-type", label("ivrType", step.type)));
  if (step.result) {
    const key = /^key:(.+)$/.exec(step.result); // the engine's "key:1": which key was pressed
    const text = key ? t("ivrResult.key", { key: key[1] }) : label("ivrResult", step.result);
    const result = el("span", "iv-step-result", text);
    result.dataset.result = step.result;
    li.append(result);
  }
  return li;
}

function drawPath() {
  $("path-error").textContent = pathProblem ? t(pathProblem) : "";
  $("path-error").hidden = !pathProblem;
  $("path").hidden = !path;
  if (!path) return;
  const outcome = $("path-outcome");
  outcome.dataset.outcome = path.outcome || "";
  outcome.textContent = path.outcome ? label("ivrOutcome", path.outcome) : t("ivr.inProgress");
  const meta = [t("ivr.pathStart", { time: formatTime(path.steps[0]?.at) })];
  if (path.seconds != null) meta.push(t("ivr.pathTotal", { time: formatSeconds(path.seconds) }));
  $("path-meta").textContent = meta.join(" · ");
  $("path-steps").replaceChildren(...path.steps.map(stepItem));
}

async function lookUp(callId) {
  const button = $("path-submit");
  button.disabled = true;
  button.textContent = t("ivr.lookupBusy");
  path = null;
  pathProblem = "";
  try {
    const response = await api(`/api/ivr/calls/${encodeURIComponent(callId)}/path`);
    if (response.ok) {
      path = await response.json();
    } else {
      pathProblem = response.status === 404 || response.status === 422 ? "ivr.notFound"
        : response.status === 403 ? "ivr.forbidden" : "ivr.lookupError";
    }
  } catch (error) {
    console.error(error);
    pathProblem = "ivr.lookupError";
  } finally {
    button.disabled = false;
    button.textContent = t("ivr.lookupSubmit");
  }
  drawPath();
}

function submitLookup(event) {
  event.preventDefault();
  const callId = $("path-call").value.trim();
  if (!callId) {
    $("path-call").focus();
    return;
  }
  lookUp(callId);
}

// -- start -----------------------------------------------------------------------------------
async function start() {
  initLang();
  const params = new URLSearchParams(location.search);
  const asked = Number(params.get("days"));
  if (PERIODS.has(asked)) days = asked;
  applyTranslations();
  drawAll();
  bindLangToggle($("lang-toggle"), () => {
    drawAccount(me);
    drawAll();
  });
  bindLogout();
  for (const button of document.querySelectorAll(".iv-period")) {
    button.addEventListener("click", pickPeriod);
  }
  $("refresh").addEventListener("click", load);
  $("path-form").addEventListener("submit", submitLookup);
  me = await (await api("/api/auth/me")).json();
  drawAccount(me);
  await load();
  const call = params.get("call");
  if (call && call.length <= 64) {
    $("path-call").value = call;
    lookUp(call);
  }
  setInterval(load, REFRESH_MS);
}

start().catch(console.error);
