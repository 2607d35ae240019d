// The browser softphone of the desk: the agent's headset talks WebRTC to the hub.
// Shown only to agents whose phone is "browser" (GET /api/agents/me). It connects once when the
// page opens (like plugging in a headset: from then on the ACD may offer calls), rings when a
// call is offered, and answers, hangs up, mutes, holds (the caller hears music) and sends keys.
// Signalling is one websocket, /ws/softphone (see tingyin/softphone/api.py); the media is a
// single RTCPeerConnection with no ICE servers: nothing leaves the hub's network.
//
// localStorage "tingyin.softphone.raw" = "1" turns the browser's echo cancellation, noise
// suppression and gain control off (a headset seldom needs them; the tests need the raw mic).
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
let ws = null;
let pc = null;
let stream = null;
let state = "off"; // off | connecting | idle | ringing | dialling | talking | held | failed
let muted = false;
let retry = null;
let ringing = null; // an Audio ring tone node while ringing

export async function startSoftphone(api) {
  const reply = await api("/api/agents/me");
  if (!reply.ok) return;
  const me = await reply.json();
  if (me.phone_uri !== "browser") return; // a desk or SIP phone rings instead
  $("softphone").hidden = false;
  bindButtons();
  connect();
}

function bindButtons() {
  $("sp-answer").addEventListener("click", () => send({ type: "answer_call" }));
  $("sp-hangup").addEventListener("click", () => send({ type: "hangup" }));
  $("sp-mute").addEventListener("click", () => send({ type: "mute", on: !muted }));
  $("sp-hold").addEventListener("click", () => send({ type: "hold", on: state !== "held" }));
  $("sp-keypad-toggle").addEventListener("click", () => {
    $("sp-keypad").hidden = !$("sp-keypad").hidden;
  });
  for (const key of KEYS) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = key;
    button.dataset.key = key;
    button.addEventListener("click", () => send({ type: "dtmf", digits: key }));
    $("sp-keypad").append(button);
  }
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

async function connect() {
  clearTimeout(retry);
  draw("connecting");
  try {
    const raw = localStorage.getItem("tingyin.softphone.raw") === "1";
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: !raw, noiseSuppression: !raw, autoGainControl: !raw },
    });
  } catch (error) {
    draw("failed", t("softphone.noMic"));
    return;
  }
  pc = new RTCPeerConnection({ iceServers: [] });
  for (const track of stream.getAudioTracks()) pc.addTrack(track, stream);
  pc.ontrack = (event) => {
    $("sp-audio").srcObject = event.streams[0] || new MediaStream([event.track]);
  };
  pc.onconnectionstatechange = () => {
    if (pc && ["failed", "closed"].includes(pc.connectionState)) reconnect();
  };
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${scheme}://${location.host}/ws/softphone`);
  ws.onopen = () => send({ type: "offer", sdp: pc.localDescription.sdp });
  ws.onmessage = (event) => receive(JSON.parse(event.data));
  ws.onclose = () => reconnect();
}

// aiortc takes no trickled candidates: the offer goes once every candidate is in it.
function gathered(peer) {
  if (peer.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (peer.iceGatheringState === "complete") resolve();
    };
    peer.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 3000); // whatever we have by then
  });
}

function reconnect() {
  if (state === "off") return;
  teardown();
  draw("failed", t("softphone.lost"));
  retry = setTimeout(connect, 3000);
}

function teardown() {
  if (ws) {
    ws.onclose = null;
    ws.close();
  }
  if (pc) {
    pc.onconnectionstatechange = null;
    pc.close();
  }
  for (const track of stream?.getTracks() || []) track.stop();
  ws = pc = stream = null;
}

async function receive(message) {
  if (message.type === "answer") {
    await pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
  } else if (message.type === "state") {
    muted = Boolean(message.muted);
    for (const track of stream?.getAudioTracks() || []) track.enabled = !muted;
    draw(message.state);
  } else if (message.type === "error") {
    $("sp-error").textContent = message.message;
    $("sp-error").hidden = false;
  }
}

function draw(next, note = "") {
  state = next;
  const box = $("softphone");
  box.dataset.state = state;
  $("sp-status").textContent = note || t(`softphone.${state}`);
  $("sp-error").hidden = true;
  const inCall = state === "talking" || state === "held";
  $("sp-answer").hidden = state !== "ringing";
  $("sp-hangup").hidden = !(inCall || state === "ringing" || state === "dialling");
  $("sp-mute").hidden = !inCall;
  $("sp-hold").hidden = !inCall;
  $("sp-keypad-toggle").hidden = !inCall;
  if (!inCall) $("sp-keypad").hidden = true;
  $("sp-mute").setAttribute("aria-pressed", String(muted));
  $("sp-mute").textContent = t(muted ? "softphone.unmute" : "softphone.mute");
  $("sp-hold").setAttribute("aria-pressed", String(state === "held"));
  $("sp-hold").textContent = t(state === "held" ? "softphone.resume" : "softphone.hold");
  ring(state === "ringing");
}

// A soft two-tone ring in the headset while a call is offered (WebAudio; no file to fetch).
function ring(on) {
  if (!on) {
    if (ringing) ringing.stop();
    ringing = null;
    return;
  }
  if (ringing) return;
  try {
    const context = new AudioContext();
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.frequency.value = 440;
    gain.gain.value = 0.05;
    tone.connect(gain).connect(context.destination);
    tone.start();
    ringing = { stop: () => context.close() };
  } catch (error) {
    ringing = null; // no audio output: the button still flashes
  }
}

export function redrawSoftphone() {
  if (!$("softphone").hidden) draw(state);
}
