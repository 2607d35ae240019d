// The listening room's headset: a supervisor on someone's call, from the browser.
// The same signalling as the desk's softphone (/ws/softphone, tingyin/softphone/api.py): one
// RTCPeerConnection offered once, then {"type": "monitor", call_id, mode} to join a call or
// switch listen | whisper | barge, and closing the socket to leave. The hub mixes the call for
// our ear and takes our microphone only in whisper (to the agent) and barge (to both); every
// session is written to the audit log there. No ICE servers: nothing leaves the hub's network.

let ws = null;
let pc = null;
let mic = null; // the microphone's track, when the browser gave us one
let ready = null; // resolves once the hub answered our offer
let hooks = { onState: () => {}, onError: () => {} };

export function initRoomAudio(audioElement, { onState, onError }) {
  hooks = { onState, onError };
  hooks.audio = audioElement;
}

// Join ``callId`` in ``mode`` (or switch mode on the call we are on).
export async function monitor(callId, mode) {
  try {
    await connect();
    if (mic) mic.enabled = mode !== "listen";
    ws.send(JSON.stringify({ type: "monitor", call_id: callId, mode }));
  } catch (error) {
    leave();
    hooks.onError(error.message || String(error));
  }
}

// Leave the call: closing the socket ends the session (the hub audits how long it lasted).
export function leave() {
  if (ws) {
    ws.onclose = null;
    ws.close();
  }
  if (pc) pc.close();
  if (mic) mic.stop();
  ws = pc = mic = ready = null;
  if (hooks.audio) hooks.audio.srcObject = null;
}

function connect() {
  if (ready) return ready;
  ready = (async () => {
    pc = new RTCPeerConnection({ iceServers: [] });
    const transceiver = pc.addTransceiver("audio", { direction: "sendrecv" });
    try {
      // As the desk's softphone: "tingyin.softphone.raw" turns the browser's processing off.
      const raw = localStorage.getItem("tingyin.softphone.raw") === "1";
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: !raw, noiseSuppression: !raw, autoGainControl: !raw },
      });
      [mic] = stream.getAudioTracks();
      await transceiver.sender.replaceTrack(mic);
    } catch {
      mic = null; // no microphone: listening still works, whisper and barge stay silent
    }
    pc.ontrack = (event) => {
      hooks.audio.srcObject = event.streams[0] || new MediaStream([event.track]);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}/ws/softphone`);
    let opened = false;
    await new Promise((resolve, reject) => {
      ws.onopen = () => {
        opened = true;
        ws.send(JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }));
      };
      ws.onmessage = async (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "answer") {
          await pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
          resolve();
        } else if (message.type === "state") {
          hooks.onState(message);
        } else if (message.type === "error") {
          hooks.onError(message.message);
        }
      };
      ws.onclose = (event) => {
        // Refused at the handshake (the browser sees no close code): this web node runs no
        // media workers, or the role may not; after that, a lost connection.
        const why = event.code === 4403 ? "forbidden" : opened && event.code !== 4503 ? "lost"
          : "unavailable";
        reject(new Error(why));
        leave();
        hooks.onState({ state: "idle", mode: "", reason: why });
      };
    });
  })();
  return ready;
}

// aiortc takes no trickled candidates: the offer goes once every candidate is in it.
function gathered(peer) {
  if (peer.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    peer.addEventListener("icegatheringstatechange", () => {
      if (peer.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, 3000);
  });
}
