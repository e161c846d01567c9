/*
 * The connection: one Socket.IO socket per page (window.io, from the classic
 * vendor script), and `call`, which emits a client event and resolves with its ack.
 *
 * Calls are paced by a token bucket kept a little under the server's own per
 * connection (SOCKET_EVENT_RATE and SOCKET_EVENT_BURST, given on <body>), so that
 * timers firing late or early never cost a refused call.
 */

const CALL_TIMEOUT_MS = 8000;
export const RECONNECT_DELAY_MS = 1000;
export const RECONNECT_DELAY_MAX_MS = 10000;
const SHARE_OF_SERVER_LIMIT = 0.9;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Up to `base` * 2^attempt, at most `max`, spread over half to one and a half of it. */
export function backoff(attempt, base, max) {
  return Math.min(base * 2 ** attempt, max) * (0.5 + Math.random());
}

// Refusals worth asking again, and after how long: a rate limit refills slowly; a busy
// server (its database out of connections, as in a reconnect storm) soon, spread out.
const RETRIES = 3;
const RETRY_DELAYS = {
  rate_limited: (attempt) => 1000 * (attempt + 1),
  server_busy: (attempt) => backoff(attempt, 500, 4000),
};

/** A limit the server rendered on <body>: a missing one is a broken page, not a default. */
export function serverLimit(body, name) {
  const value = Number.parseFloat(body.getAttribute(`data-${name}`));
  if (!(value > 0)) {
    throw new Error(`<body> has no data-${name}`);
  }
  return value;
}

function tokenBucket(perSecond, capacity) {
  let tokens = capacity;
  let at = performance.now();
  return async function take() {
    for (;;) {
      const now = performance.now();
      tokens = Math.min(capacity, tokens + ((now - at) / 1000) * perSecond);
      at = now;
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      await sleep(((1 - tokens) / perSecond) * 1000);
    }
  };
}

function failure(code, message) {
  return { ok: false, error: { code, message } };
}

export function connect(body) {
  const socket = window.io({
    reconnectionDelay: RECONNECT_DELAY_MS,
    reconnectionDelayMax: RECONNECT_DELAY_MAX_MS,
  });
  const takeToken = tokenBucket(
    serverLimit(body, "socket-rate") * SHARE_OF_SERVER_LIMIT,
    Math.max(1, Math.floor(serverLimit(body, "socket-burst") * SHARE_OF_SERVER_LIMIT)),
  );

  /** Emit a client event and resolve with its ack (never rejects). */
  async function call(event, payload, attempt = 0) {
    await takeToken();
    if (!socket.connected) {
      return failure("offline", "Not connected.");
    }
    const ack = await new Promise((resolve) => {
      socket.timeout(CALL_TIMEOUT_MS).emit(event, payload, (err, answer) => {
        resolve(err ? failure("timeout", "No answer from the server.") : answer || failure("empty", ""));
      });
    });
    const code = ack.ok ? null : ack.error && ack.error.code;
    if (code in RETRY_DELAYS && attempt < RETRIES) {
      await sleep(RETRY_DELAYS[code](attempt));
      return call(event, payload, attempt + 1);
    }
    return ack;
  }

  return { socket, call };
}
