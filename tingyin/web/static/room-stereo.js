// 立体声: hear a call with the caller in the left ear and the agent in the right. Listen-only,
// over the hub's /ws/calls/{id}/audio (tingyin/web/listen.py: a JSON format message, then
// ~100 ms binary frames of interleaved 16-bit LE PCM, 8 kHz, caller left, then
// {"type": "ended"}; audited there as call.listen / call.listen.end). room-audio.js's WebRTC
// headset carries one mono mix with less delay; the room runs one of the two at a time.
// For tests (headless Chromium's output cannot be captured) the button carries
// data-stereo-state (idle | connecting | playing | ended), data-stereo-frames and the last
// second's loudness per channel, data-stereo-left-rms / data-stereo-right-rms (0..1), and
// data-stereo-ahead-ms, how much audio is queued ahead of the playhead.

const TEXTS = {
  zh: {
    connecting: "立体声连接中…", playing: "正在立体声监听（左耳客户，右耳坐席）…",
    ended: "通话已结束", lost: "立体声连接已断开", forbidden: "无权监听",
    nocall: "这通电话已不在进行中",
  },
  en: {
    connecting: "Stereo: connecting…", playing: "Stereo: caller left, agent right…",
    ended: "The call has ended", lost: "Stereo connection lost",
    forbidden: "Not allowed to listen", nocall: "That call is no longer in progress",
  },
};
const LEAD = 0.12; // s queued ahead of the playhead: covers the 100 ms frames' arrival jitter
const MAX_AHEAD = 0.6; // s: beyond this (a burst after a stall) frames are dropped to catch up
const WINDOW = 8000; // samples per channel in the loudness window: the last second at 8 kHz

let button = null;
let onChange = () => {};
let ws = null;
let context = null;
let format = { rate: 8000, channels: 2 };
let playAt = 0; // the context time where the next frame starts
let sources = new Set(); // scheduled and not yet played: stopped at once on stop
let energy = []; // the last second's frames: { n, left, right } sums of squares
let state = "idle";
let reason = ""; // why the last session ended without an "ended" message

const uiLang = () => (document.documentElement.lang.startsWith("en") ? "en" : "zh");

// button: the 立体声 button (it carries the data-stereo-* attributes); changed: called on every
// state change so that the room redraws its status line and buttons.
export function initStereo(element, changed) {
  button = element;
  Object.assign(button.dataset, { stereoState: "idle", stereoFrames: "0" });
  Object.assign(button.dataset, { stereoLeftRms: "0", stereoRightRms: "0", stereoAheadMs: "0" });
  onChange = changed;
}

export const stereoOn = () => state === "connecting" || state === "playing";

// The status line's text ("" when idle and nothing to tell).
export function stereoStatus() {
  const key = stereoOn() || state === "ended" ? state : reason;
  return key ? TEXTS[uiLang()][key] : "";
}

export function startStereo(callId) {
  stopStereo();
  context = new AudioContext(); // created on the click: no autoplay block
  playAt = 0; // a new context's clock starts at 0
  format = { rate: 8000, channels: 2 };
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${scheme}://${location.host}/ws/calls/${encodeURIComponent(callId)}/audio`);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (event) => {
    if (typeof event.data !== "string") return frame(event.data);
    const message = JSON.parse(event.data);
    if (message.type === "format") format = message;
    else if (message.type === "ended") stopStereo("ended");
  };
  ws.onclose = (event) => {
    // Refused before the handshake (not logged in) the browser sees 1006, as for a lost line.
    stopStereo("idle", { 4403: "forbidden", 4404: "nocall" }[event.code] || "lost");
  };
  setState("connecting");
}

// Hang up and silence what is still queued; next: "idle" or "ended" (the call is over); why:
// the status line's reason for an idle that nobody asked for.
export function stopStereo(next = "idle", why = "") {
  if (state === "idle" && next === "idle" && !reason && !why) return; // nothing on, nothing to say
  if (ws) {
    ws.onclose = ws.onmessage = null;
    ws.close();
  }
  for (const source of sources) source.stop();
  if (context) context.close();
  ws = context = null;
  sources = new Set();
  energy = [];
  reason = why;
  setState(next);
}

function frame(data) {
  const pcm = new Int16Array(data);
  const channels = format.channels || 2;
  const n = Math.floor(pcm.length / channels);
  if (!context || !n) return;
  const buffer = context.createBuffer(2, n, format.rate || 8000); // the context resamples
  const left = buffer.getChannelData(0);
  const right = buffer.getChannelData(1);
  let sumLeft = 0;
  let sumRight = 0;
  for (let i = 0; i < n; i++) {
    left[i] = pcm[i * channels] / 32768;
    right[i] = channels > 1 ? pcm[i * channels + 1] / 32768 : left[i];
    sumLeft += left[i] * left[i];
    sumRight += right[i] * right[i];
  }
  measure(n, sumLeft, sumRight);
  if (state !== "playing") setState("playing");
  button.dataset.stereoFrames = String(Number(button.dataset.stereoFrames) + 1);
  schedule(buffer);
}

// Back to back from playAt; when the queue ran dry (late frames) start again LEAD ahead.
function schedule(buffer) {
  const now = context.currentTime;
  if (playAt < now + 0.01) playAt = now + LEAD;
  button.dataset.stereoAheadMs = String(Math.round((playAt - now) * 1000));
  if (playAt - now > MAX_AHEAD) return; // drop rather than let the delay grow for good
  const source = context.createBufferSource();
  source.buffer = buffer;
  source.connect(context.destination);
  source.onended = () => sources.delete(source);
  source.start(playAt);
  sources.add(source);
  playAt += buffer.duration;
}

function measure(n, left, right) {
  energy.push({ n, left, right });
  let total = energy.reduce((sum, e) => sum + e.n, 0);
  while (energy.length > 1 && total - energy[0].n >= WINDOW) total -= energy.shift().n;
  const sum = (key) => energy.reduce((s, e) => s + e[key], 0);
  button.dataset.stereoLeftRms = Math.sqrt(sum("left") / total).toFixed(4);
  button.dataset.stereoRightRms = Math.sqrt(sum("right") / total).toFixed(4);
}

function setState(next) {
  state = next;
  if (next === "connecting") {
    button.dataset.stereoFrames = "0";
    Object.assign(button.dataset, { stereoLeftRms: "0", stereoRightRms: "0", stereoAheadMs: "0" });
  }
  button.dataset.stereoState = next;
  button.setAttribute("aria-pressed", String(stereoOn()));
  onChange();
}
