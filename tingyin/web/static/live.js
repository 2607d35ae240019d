// The page's live events (/ws/events; the login cookie authenticates the socket). Each event
// goes to its handler by type; a dropped socket reconnects with backoff (1 s doubling to 15 s),
// after asking the page's checkLogin() so that a lost login ends on the login page.
export function followEvents({ handlers, onState, onOpen = () => {}, checkLogin }) {
  let retryDelay = 1000;
  function connect(reconnecting) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/events`);
    socket.addEventListener("open", () => {
      retryDelay = 1000;
      onState("open");
      onOpen(reconnecting);
    });
    socket.addEventListener("message", (message) => {
      try {
        const event = JSON.parse(message.data);
        handlers[event.type]?.(event);
      } catch (error) {
        console.error(error);
      }
    });
    socket.addEventListener("close", async () => {
      onState("closed");
      try {
        await checkLogin();
      } catch {
        // offline, or the server restarts: retry below
      }
      setTimeout(() => connect(true), retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    });
  }
  connect(false);
}
