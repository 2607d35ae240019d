// The QA review page (通话质检): the review queue; for one call the stereo recording with a
// waveform (peaks from /api/qa/calls/{id}/peaks), the transcript in step with playback (click a
// word to jump there), the automatic findings with their moments, comments pinned to the current
// time, and the scorecard pre-filled from the automatic proposal. Drawn with textContent only.
import { bindLogout, drawAccount } from "./account.js";
import { applyTranslations, bindLangToggle, formatSeconds, formatTime, initLang, t } from "./i18n.js";

// This page's own texts (the shared ones come from i18n.js).
const TEXTS = {
  zh: {
    pageTitle: "通话质检 · 听音", nav: "通话质检", openLabel: "通话 ID", open: "打开",
    queue: "待质检", queueEmpty: "没有待质检的通话", pick: "从左侧选择一通电话开始质检",
    caller: "客户（左声道）", agent: "坐席（右声道）", wave: "波形", transcript: "通话转写",
    clickWord: "点击任意字词跳转到该时刻", findings: "自动质检发现", comments: "批注",
    commentPlaceholder: "在当前播放时刻添加批注", commentAt: "在 {time} 添加批注",
    kind: "质检方式", "kind.post_call": "事后质检", "kind.live": "实时质检", submit: "提交评分",
    scores: "已有评分", noScores: "暂无评分", noTranscript: "暂无转写内容",
    yes: "是", no: "否", na: "不适用", auto: "自动", autoScore: "自动质检预估",
    autoNone: "暂无自动质检结果", critical: "触犯致命项", result: "得分 {total}（{level}）",
    resultCritical: "得分 0（致命项：{items}）", missing: "还有 {n} 项未评分",
    failed: "提交失败：{error}", loadError: "无法加载该通话", agentName: "坐席 {name}",
    order: "订单 {no}", tickets: "工单 {list}", legCaller: "客户", legAgent: "坐席",
    "reason.random": "随机抽检", "reason.complaint": "投诉", "reason.low_auto": "自动低分",
    "reason.live_alert": "实时预警", metrics: "静音 {silence}（最长 {longest} 秒） · 抢话 {overlaps} 次 · 坐席说话占比 {ratio} · 语速 {rate}/秒 · 音高变化 {pitch} 半音",
    "check.greeting": "问候语", "check.order_asked": "询问订单", "check.order_confirmed": "确认订单",
    "check.empathy": "共情表达", "check.no_forbidden": "未用禁语", "check.promised_time": "承诺时限",
    "check.closing": "结束语", "check.satisfaction_question": "满意度邀评", "check.dead_air": "无冷场",
    "check.talk_over": "不抢话", "check.agent_talk_ratio": "说话占比", "check.speaking_rate": "语速",
    "kindOf.live": "实时", "kindOf.post_call": "事后",
  },
  en: {
    pageTitle: "Call QA · Tingyin", nav: "Call QA", openLabel: "Call ID", open: "Open",
    queue: "To review", queueEmpty: "Nothing to review", pick: "Pick a call on the left",
    caller: "Caller (left)", agent: "Agent (right)", wave: "Waveform", transcript: "Transcript",
    clickWord: "Click a word to jump there", findings: "Automatic findings", comments: "Comments",
    commentPlaceholder: "Comment at the playing moment", commentAt: "Comment at {time}",
    kind: "Scored", "kind.post_call": "After the call", "kind.live": "Live", submit: "Submit score",
    scores: "Scores", noScores: "No scores yet", noTranscript: "No transcript",
    yes: "Yes", no: "No", na: "N/A", auto: "auto", autoScore: "Automatic estimate",
    autoNone: "No automatic QA yet", critical: "critical failure", result: "Score {total} ({level})",
    resultCritical: "Score 0 (critical: {items})", missing: "{n} items not scored",
    failed: "Not submitted: {error}", loadError: "Could not load the call", agentName: "Agent {name}",
    order: "Order {no}", tickets: "Tickets {list}", legCaller: "Caller", legAgent: "Agent",
    "reason.random": "random", "reason.complaint": "complaint", "reason.low_auto": "low auto score",
    "reason.live_alert": "live alert", metrics: "Silence {silence} (longest {longest} s) · talk-over {overlaps} · agent talks {ratio} · {rate} onsets/s · pitch SD {pitch} st",
    "check.greeting": "Greeting", "check.order_asked": "Order asked", "check.order_confirmed": "Order confirmed",
    "check.empathy": "Empathy", "check.no_forbidden": "No forbidden phrase", "check.promised_time": "Time promised",
    "check.closing": "Closing", "check.satisfaction_question": "Rating asked", "check.dead_air": "No dead air",
    "check.talk_over": "No talk-over", "check.agent_talk_ratio": "Talk ratio", "check.speaking_rate": "Speaking rate",
    "kindOf.live": "live", "kindOf.post_call": "post-call",
  },
};

let me = null;
let lang = "zh";
let card = null; // GET /api/qa/scorecard
let review = null; // GET /api/qa/calls/{id}
let wave = null; // GET /api/qa/calls/{id}/peaks
let queue = [];
let wordNodes = []; // [{start, end, node, li}] in time order, for the playhead

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

function label(obj, zhKey, enKey) {
  return lang === "en" && obj[enKey] ? obj[enKey] : obj[zhKey];
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

async function postJson(path, body) {
  return api(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
}

function detailOf(payload) {
  const detail = payload?.detail;
  if (Array.isArray(detail)) return detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ");
  return detail || "";
}

function translatePage() {
  applyTranslations();
  document.title = q("pageTitle");
  for (const node of document.querySelectorAll("[data-qa]")) node.textContent = q(node.dataset.qa);
  for (const node of document.querySelectorAll("[data-qa-placeholder]")) {
    node.placeholder = q(node.dataset.qaPlaceholder);
  }
  for (const node of document.querySelectorAll("[data-qa-aria]")) {
    node.setAttribute("aria-label", q(node.dataset.qaAria));
  }
}

const audio = () => $("audio");

function seek(seconds) {
  const player = audio();
  player.currentTime = Math.max(0, seconds);
  onTime();
}

function jumpButton(seconds) {
  const button = el("button", "qa-jump", formatSeconds(seconds));
  button.type = "button";
  button.addEventListener("click", () => seek(seconds));
  return button;
}

// -- the queue -------------------------------------------------------------------------------
function drawQueue() {
  const list = $("queue");
  list.replaceChildren();
  const byCall = new Map();
  for (const item of queue) {
    if (!byCall.has(item.call_id)) byCall.set(item.call_id, []);
    byCall.get(item.call_id).push(item.reason);
  }
  for (const [callId, reasons] of byCall) {
    const li = el("li");
    const link = el("a", "", callId.slice(0, 12));
    link.href = `/qa?call=${encodeURIComponent(callId)}`;
    link.setAttribute("aria-current", String(review?.call_id === callId));
    link.addEventListener("click", (event) => {
      event.preventDefault();
      openCall(callId);
    });
    link.append(el("span", "qa-reason", reasons.map((r) => q(`reason.${r}`)).join(" · ")));
    li.append(link);
    list.append(li);
  }
  $("queue-empty").hidden = byCall.size > 0;
}

// -- one call ------------------------------------------------------------------------------
async function openCall(callId) {
  $("load-error").hidden = true;
  try {
    review = await getJson(`/api/qa/calls/${encodeURIComponent(callId)}`);
  } catch (err) {
    $("load-error").textContent = q("loadError");
    $("load-error").hidden = false;
    return;
  }
  history.replaceState(null, "", `/qa?call=${encodeURIComponent(callId)}`);
  $("pick").hidden = true;
  $("review").hidden = false;
  $("score-result").hidden = true;
  $("score-error").hidden = true;
  const player = audio();
  player.src = review.has_recording ? `/api/calls/${encodeURIComponent(callId)}/recording` : "";
  wave = null;
  if (review.has_recording) {
    getJson(`/api/qa/calls/${encodeURIComponent(callId)}/peaks?buckets=1200`)
      .then((found) => { wave = found; drawWave(); })
      .catch(() => { wave = null; drawWave(); });
  }
  drawReview();
  drawQueue();
}

function drawReview() {
  if (!review) return;
  $("call-title").textContent = review.call_id;
  const meta = [formatTime(review.started_at), review.caller];
  if (review.agent) meta.push(q("agentName", { name: review.agent }));
  if (review.order_no) meta.push(q("order", { no: review.order_no }));
  if (review.tickets.length) meta.push(q("tickets", { list: review.tickets.join(", ") }));
  if (review.recording_seconds) meta.push(formatSeconds(review.recording_seconds));
  $("call-meta").textContent = meta.join(" · ");
  drawAuto();
  drawSegments();
  drawFindings();
  drawComments();
  drawCard();
  drawScores();
  drawWave();
  onTime();
}

function drawAuto() {
  const box = $("auto-box");
  box.replaceChildren();
  const auto = review.auto;
  if (!auto) {
    box.append(el("span", "qa-muted", q("autoNone")));
    $("metrics").textContent = "";
    return;
  }
  box.append(el("span", "qa-muted", q("autoScore")), el("br"));
  const total = el("strong", "", auto.total.toFixed(1));
  total.dataset.testid = "auto-total";
  box.append(total);
  if (auto.critical_failed) box.append(el("span", "critical", q("critical")));
  const m = auto.metrics || {};
  $("metrics").textContent = m.duration_s == null ? "" : q("metrics", {
    silence: `${Math.round((m.silence_ratio || 0) * 100)}%`,
    longest: (m.longest_silence_s || 0).toFixed(1),
    overlaps: (m.overlaps || []).length,
    ratio: `${Math.round((m.agent_talk_ratio || 0) * 100)}%`,
    rate: (m.speaking_rate || 0).toFixed(1),
    pitch: (m.pitch_sd_semitones || 0).toFixed(1),
  });
}

function drawSegments() {
  const list = $("segments");
  list.replaceChildren();
  wordNodes = [];
  if (!review.segments.length) {
    list.append(el("li", "qa-muted", q("noTranscript")));
    return;
  }
  for (const seg of review.segments) {
    const li = el("li");
    li.dataset.leg = seg.leg;
    const at = el("span", "at", formatSeconds(seg.start));
    at.addEventListener("click", () => seek(seg.start));
    const who = el("span", "who", seg.leg === "caller" ? q("legCaller") : q("legAgent"));
    const text = el("span", "text");
    const words = seg.words && seg.words.length ? seg.words : [{ word: seg.text, start: seg.start, end: seg.end }];
    for (const word of words) {
      const span = el("span", "qa-word", word.word);
      span.dataset.start = String(word.start);
      span.dataset.testid = "word";
      span.addEventListener("click", () => seek(Number(word.start)));
      text.append(span, document.createTextNode(" "));
      wordNodes.push({ start: Number(word.start), end: Number(word.end), node: span, li });
    }
    li.append(at, who, text);
    li.dataset.start = String(seg.start);
    li.dataset.end = String(seg.end);
    list.append(li);
  }
  wordNodes.sort((a, b) => a.start - b.start);
}

function drawFindings() {
  const list = $("findings");
  list.replaceChildren();
  for (const finding of review.auto?.findings || []) {
    const li = el("li");
    li.dataset.passed = String(finding.passed);
    li.dataset.check = finding.check;
    li.append(el("span", "", `${finding.passed ? "✓" : "✗"} ${q(`check.${finding.check}`)}`));
    for (const ev of (finding.evidence || []).slice(0, 3)) {
      const jump = jumpButton(ev.start);
      if (ev.text) jump.textContent = `${formatSeconds(ev.start)} ${ev.text}`;
      li.append(jump);
    }
    list.append(li);
  }
}

function drawComments() {
  const list = $("comments");
  list.replaceChildren();
  for (const comment of review.comments) {
    const li = el("li");
    li.append(jumpButton(comment.at_seconds), el("strong", "", ` ${comment.author}: `), el("span", "", comment.text));
    list.append(li);
  }
  $("comment-add").textContent = q("commentAt", { time: formatSeconds(audio().currentTime || 0) });
}

function drawScores() {
  const list = $("scores");
  list.replaceChildren();
  if (!review.evaluations.length) list.append(el("li", "qa-muted", q("noScores")));
  for (const e of review.evaluations) {
    list.append(el("li", "", `${formatTime(e.created_at)} · ${q(`kindOf.${e.kind}`)} · ${e.total.toFixed(1)} · ${levelLabel(e.resolution_level)}`));
  }
}

function levelLabel(code) {
  const item = card?.definition.sections.flatMap((s) => s.items).find((i) => i.resolution);
  const level = item?.levels.find((l) => l.code === code);
  return level ? label(level, "label", "en") : code || "—";
}

// -- the scorecard form --------------------------------------------------------------------
function choice(name, value, text, checked) {
  const wrap = el("label");
  const input = el("input");
  input.type = "radio";
  input.name = name;
  input.value = value;
  input.checked = checked;
  input.dataset.testid = `answer-${name}-${value}`;
  wrap.append(input, document.createTextNode(text));
  return wrap;
}

function drawCard() {
  if (!card) return;
  $("card-title").textContent = `${label(card.definition, "name", "en")} · v${card.version}`;
  const proposal = review?.auto?.answers || {};
  const box = $("items");
  box.replaceChildren();
  for (const section of card.definition.sections) {
    const fieldset = el("fieldset", "qa-section");
    fieldset.append(el("legend", "", label(section, "title", "en")));
    for (const item of section.items) {
      const row = el("div", `qa-item${item.critical ? " critical" : ""}`);
      row.dataset.item = item.id;
      const text = el("span", "qa-item-text", label(item, "text", "en"));
      text.append(el("small", "", `${item.weight}`));
      const proposed = proposal[item.id];
      if (proposed !== undefined) text.append(el("span", "qa-auto-tag", q("auto")));
      const choices = el("div", "qa-choices");
      if (item.answer === "yes_no") {
        choices.append(choice(item.id, "yes", q("yes"), proposed === "yes"));
        choices.append(choice(item.id, "no", q("no"), proposed === "no"));
      } else if (item.answer === "level") {
        for (const level of item.levels) {
          choices.append(choice(item.id, level.code, label(level, "label", "en"), proposed === level.code));
        }
      } else {
        const select = el("select");
        select.name = item.id;
        select.dataset.testid = `answer-${item.id}`;
        select.append(el("option", "", "—"));
        select.firstChild.value = "";
        for (let n = 0; n <= item.scale_max; n += 1) {
          const option = el("option", "", String(n));
          option.value = String(n);
          option.selected = proposed === n;
          select.append(option);
        }
        choices.append(select);
      }
      if (item.na_allowed) choices.append(choice(item.id, "na", q("na"), proposed === "na"));
      row.append(text, choices);
      fieldset.append(row);
    }
    box.append(fieldset);
  }
}

function collectAnswers() {
  const answers = {};
  let missing = 0;
  for (const item of card.definition.sections.flatMap((s) => s.items)) {
    if (item.answer === "scale") {
      const select = document.querySelector(`select[name="${item.id}"]`);
      const checkedNa = document.querySelector(`input[name="${item.id}"][value="na"]:checked`);
      if (checkedNa) answers[item.id] = "na";
      else if (select.value !== "") answers[item.id] = Number(select.value);
      else missing += 1;
      continue;
    }
    const checked = document.querySelector(`input[name="${item.id}"]:checked`);
    if (checked) answers[item.id] = checked.value;
    else missing += 1;
  }
  return { answers, missing };
}

async function submitScore(event) {
  event.preventDefault();
  const error = $("score-error");
  const result = $("score-result");
  error.hidden = true;
  result.hidden = true;
  const { answers, missing } = collectAnswers();
  if (missing) {
    error.textContent = q("missing", { n: missing });
    error.hidden = false;
    return;
  }
  $("submit").disabled = true;
  try {
    const response = await postJson(`/api/qa/calls/${encodeURIComponent(review.call_id)}/evaluations`, {
      kind: $("kind").value, answers,
    });
    const payload = await response.json().catch(() => ({}));
    if (!response.ok) {
      error.textContent = q("failed", { error: detailOf(payload) || `HTTP ${response.status}` });
      error.hidden = false;
      return;
    }
    result.textContent = payload.critical_failed
      ? q("resultCritical", { items: Object.keys(answers).filter((k) => answers[k] === "no" && isCritical(k)).join(", ") })
      : q("result", { total: payload.total.toFixed(1), level: levelLabel(payload.resolution_level) });
    result.hidden = false;
    review.evaluations.push(payload);
    drawScores();
    queue = queue.filter((item) => item.call_id !== review.call_id);
    drawQueue();
  } finally {
    $("submit").disabled = false;
  }
}

function isCritical(id) {
  return card.definition.sections.flatMap((s) => s.items).some((i) => i.id === id && i.critical);
}

async function addComment(event) {
  event.preventDefault();
  const text = $("comment-text").value.trim();
  if (!text || !review) return;
  const response = await postJson(`/api/qa/calls/${encodeURIComponent(review.call_id)}/comments`, {
    at_seconds: Math.round((audio().currentTime || 0) * 100) / 100, text,
  });
  if (!response.ok) return;
  review.comments.push(await response.json());
  review.comments.sort((a, b) => a.at_seconds - b.at_seconds);
  $("comment-text").value = "";
  drawComments();
  drawWave();
}

// -- waveform and the playhead -------------------------------------------------------------
function duration() {
  const player = audio();
  if (Number.isFinite(player.duration) && player.duration > 0) return player.duration;
  return wave?.seconds || review?.recording_seconds || 0;
}

function drawWave() {
  const canvas = $("wave");
  const width = canvas.clientWidth || 800;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(96 * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, 96);
  const mid = 48;
  if (wave && wave.caller.length) {
    const n = wave.caller.length;
    for (let i = 0; i < n; i += 1) {
      const x = (i / n) * width;
      const w = Math.max(1, width / n);
      ctx.fillStyle = "#2563eb";
      ctx.fillRect(x, mid - wave.caller[i] * 44, w, wave.caller[i] * 44);
      ctx.fillStyle = "#0f766e";
      ctx.fillRect(x, mid, w, wave.agent[i] * 44);
    }
  }
  ctx.fillStyle = "#cbd5e1";
  ctx.fillRect(0, mid, width, 1);
  const total = duration();
  if (!total) return;
  ctx.fillStyle = "#f59e0b";
  for (const comment of review?.comments || []) {
    ctx.fillRect((comment.at_seconds / total) * width - 1, 0, 3, 10);
  }
  ctx.fillStyle = "#dc2626";
  ctx.fillRect(((audio().currentTime || 0) / total) * width, 0, 2, 96);
}

function clickWave(event) {
  const total = duration();
  if (!total) return;
  const rect = $("wave").getBoundingClientRect();
  seek(((event.clientX - rect.left) / rect.width) * total);
}

function onTime() {
  const now = audio().currentTime || 0;
  $("clock").textContent = formatSeconds(now);
  if ($("comment-add")) $("comment-add").textContent = q("commentAt", { time: formatSeconds(now) });
  for (const li of document.querySelectorAll("#segments li.current")) li.classList.remove("current");
  for (const node of document.querySelectorAll(".qa-word.now")) node.classList.remove("now");
  for (const li of document.querySelectorAll("#segments li[data-start]")) {
    if (Number(li.dataset.start) <= now && now < Number(li.dataset.end) + 0.3) li.classList.add("current");
  }
  const word = wordNodes.find((w) => w.start <= now && now < w.end);
  if (word) word.node.classList.add("now");
  drawWave();
}

// -- start -----------------------------------------------------------------------------------
async function start() {
  lang = initLang();
  translatePage();
  bindLangToggle($("lang-toggle"), () => {
    lang = document.documentElement.lang.startsWith("en") ? "en" : "zh";
    translatePage();
    drawAccount(me);
    drawQueue();
    drawReview();
  });
  bindLogout();
  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("open-call").value.trim();
    if (id) openCall(id);
  });
  $("score-form").addEventListener("submit", submitScore);
  $("comment-form").addEventListener("submit", addComment);
  $("wave").addEventListener("click", clickWave);
  const player = audio();
  for (const name of ["timeupdate", "seeked", "loadedmetadata"]) player.addEventListener(name, onTime);
  window.addEventListener("resize", drawWave);
  me = await getJson("/api/auth/me");
  drawAccount(me);
  [card, queue] = await Promise.all([getJson("/api/qa/scorecard"), getJson("/api/qa/review-queue")]);
  drawQueue();
  const call = new URLSearchParams(location.search).get("call");
  if (call && call.length <= 64) await openCall(call);
}

start().catch(console.error);
