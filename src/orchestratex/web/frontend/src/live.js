// Follow one thread over WebSocket (/ws/thread/{id}); reconnects resume after the last seq.

import { getApiKey } from "./api.js";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const GIVE_UP = new Set([4401, 4404, 1008, 1009]);

export function followThread(threadId, { onEvent, onNotice, onEnd }) {
  let attempts = 0;
  let ended = false;
  let stopped = false;
  let socket = null;

  const open = () => {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/thread/${encodeURIComponent(threadId)}`);
    socket.addEventListener("open", () => {
      const key = getApiKey();
      // Browsers cannot set headers on the upgrade: the key goes in the first message.
      if (key) socket.send(JSON.stringify({ type: "auth", api_key: key }));
    });
    socket.addEventListener("message", (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (data.type === "event") {
        attempts = 0;
        onEvent(data.event);
        if (TERMINAL.has(data.event.type)) ended = true;
      } else if (data.type === "error") {
        onNotice(`live updates: ${data.code}: ${data.message}`);
      } else if (data.type === "subscribed") {
        onNotice(null);
      }
    });
    socket.addEventListener("close", (event) => {
      if (ended || stopped) {
        onEnd({ ended, code: event.code });
      } else if (GIVE_UP.has(event.code) || attempts >= 3) {
        onEnd({ ended: false, code: event.code });
      } else {
        attempts += 1;
        onNotice(`live connection lost (code ${event.code}); reconnecting…`);
        setTimeout(open, 400 * attempts);
      }
    });
  };

  open();
  return {
    close() {
      stopped = true;
      socket?.close();
    },
  };
}
