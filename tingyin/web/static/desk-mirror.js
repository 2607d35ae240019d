// The desk, mirrored in the listening room (state sync, not video): what desk.js says this
// screen shows for my current call (the ticket draft as I type it, the order on the card,
// whether I look at that call) plus the softphone's mute and hold, POSTed to /api/desk/mirror
// when it changes. Changes are coalesced: at most one post every ~300 ms while typing, one at
// once on submit and clear, and never two at a time (they must arrive in order).
const COALESCE_MS = 300;

let snapshot = () => null; // desk.js: the draft of my current call, or null (no call of mine)
let post = null;
let timer = null;
let lastSent = ""; // the body the hub has: the same again is not sent
let sending = false;
let again = false; // a change came while a post was on its way

const $ = (id) => document.getElementById(id);

// The softphone's own state, read from its controls (softphone.js draws them).
function softphoneKeys() {
  const phone = $("softphone");
  if (!phone || phone.hidden) return { muted: false, held: false };
  return {
    muted: $("sp-mute")?.getAttribute("aria-pressed") === "true",
    held: phone.dataset.state === "held",
  };
}

export function bindMirror(helpers, getSnapshot) {
  post = helpers.postJson;
  snapshot = getSnapshot;
  const observer = new MutationObserver(() => mirrorChanged());
  const watch = (id, names) => {
    if ($(id)) observer.observe($(id), { attributes: true, attributeFilter: names });
  };
  watch("softphone", ["data-state", "hidden"]);
  watch("sp-mute", ["aria-pressed"]);
}

// Something the mirror shows may have changed: send it within COALESCE_MS.
export function mirrorChanged() {
  if (!post || timer) return;
  timer = setTimeout(() => {
    timer = null;
    send();
  }, COALESCE_MS);
}

// A step the room should see at once (submitted, cleared).
export function mirrorNow() {
  clearTimeout(timer);
  timer = null;
  send();
}

async function send() {
  if (!post) return;
  if (sending) {
    again = true;
    return;
  }
  const state = snapshot();
  if (!state) {
    lastSent = ""; // the next call starts afresh
    return;
  }
  const body = { ...state, ...softphoneKeys() };
  const text = JSON.stringify(body);
  if (text === lastSent) return;
  sending = true;
  lastSent = text;
  try {
    const response = await post("/api/desk/mirror", body);
    // 409: the call ended or moved on before the post arrived; the next change tells again.
    if (!response.ok && response.status !== 409) {
      lastSent = "";
      console.warn(`desk mirror: HTTP ${response.status}`);
    }
  } catch (error) {
    lastSent = ""; // offline: the next change sends it all again
    console.warn("desk mirror:", error);
  } finally {
    sending = false;
    if (again) {
      again = false;
      mirrorChanged();
    }
  }
}
