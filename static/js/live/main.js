/*
 * Hearth & Bean live client: one Socket.IO connection per page of a logged-in user.
 *
 * The server pushes `notification`, `unread`, `order_status`, `payment_status`, `stock`,
 * `preferences`, `cart`, the admins' `admin_change` and the order conversation's `message`, `messages_read`, `presence` and `typing`; these
 * modules turn them into toasts, badges and page updates, with markup and formats
 * from the server (the page's <template>s) and limits from <body data-*>. Text
 * from the server is only ever inserted as text.
 *
 * A module script runs after the deferred vendor script that defines window.io.
 */
import { followAdminChanges } from "./admin.js";
import { setCartCount } from "./cart.js";
import { followConversation } from "./messages.js";
import { followNotifications, setUnread } from "./notifications.js";
import { applyOrderStatus } from "./orders.js";
import { applyPaymentStatus } from "./payments.js";
import { applyPreferences } from "./preferences.js";
import { backoff, connect, RECONNECT_DELAY_MAX_MS, RECONNECT_DELAY_MS, serverLimit } from "./socket.js";
import { applyStock, followProducts } from "./stock.js";
import { showToast } from "./toasts.js";

const INDICATOR_TITLES = {
  live: "Live updates are on",
  reconnecting: "Connection lost: reconnecting…",
  offline: "Live updates are off; reload the page to try again",
};

function setIndicator(state) {
  const indicator = document.querySelector("[data-live-indicator]");
  if (!indicator) {
    return;
  }
  indicator.dataset.state = state;
  indicator.title = INDICATOR_TITLES[state];
  const label = indicator.querySelector(".label");
  if (label) {
    label.textContent = state;
  }
}

function start(body) {
  const maxProducts = serverLimit(body, "max-products");
  const connection = connect(body);
  const { socket } = connection;
  const notifications = followNotifications(connection, body);
  const conversation = followConversation(connection, body);
  const adminChanges = followAdminChanges(connection);

  /**
   * Catch up, then follow this page's products and order thread; only then is the page "live":
   * from that moment every push that concerns it reaches it.
   */
  async function onConnect() {
    body.removeAttribute("data-live-ready");
    await notifications.catchUp();
    await adminChanges.catchUp();
    await notifications.markInboxRead();
    await followProducts(connection, maxProducts);
    await conversation.watch();
    if (!socket.connected) {
      return;
    }
    setIndicator("live");
    body.dataset.liveReady = "true";
  }

  /** The server does not want this socket (signed out): stop retrying. */
  function stop(message) {
    socket.disconnect();
    setIndicator("offline");
    body.removeAttribute("data-live-ready");
    showToast({ kind: "info", title: "Live updates stopped", body: message, url: "/auth/login", linkText: "Log in" });
  }

  socket.on("connect", onConnect);
  socket.on("disconnect", (reason) => {
    body.removeAttribute("data-live-ready");
    if (reason === "io server disconnect") {
      stop("You were signed out.");
    } else {
      setIndicator(socket.active ? "reconnecting" : "offline");
    }
  });
  // A refusal of the connect itself ends Socket.IO's own reconnecting: a busy server's
  // (it could not check the login) is tried again here, with the same backoff.
  let busyRefusals = 0;
  socket.on("connect", () => {
    busyRefusals = 0;
  });
  socket.on("connect_error", (error) => {
    const code = error && error.data && error.data.code;
    if (code === "unauthorized") {
      stop("Your session has ended.");
    } else if (code === "server_busy") {
      setIndicator("reconnecting");
      setTimeout(() => socket.connect(), backoff(busyRefusals, RECONNECT_DELAY_MS, RECONNECT_DELAY_MAX_MS));
      busyRefusals += 1;
    } else {
      setIndicator(socket.active ? "reconnecting" : "offline");
    }
  });
  socket.io.on("reconnect_failed", () => setIndicator("offline"));

  socket.on("notification", notifications.onNotification);
  socket.on("position", notifications.onPosition);
  socket.on("unread", (payload) => setUnread(payload && payload.unread));
  // An admin page follows orders through the feed (in order, with versions and who changed them).
  if (!adminChanges.following) {
    socket.on("order_status", (payload) => applyOrderStatus(payload || {}));
    socket.on("payment_status", (payload) => applyPaymentStatus(payload || {}));
  }
  socket.on("admin_change", adminChanges.onChange);
  socket.on("admin_position", adminChanges.onPosition);
  socket.on("stock", (payload) => applyStock(payload || {}));
  socket.on("preferences", applyPreferences);
  socket.on("cart", setCartCount);
}

if (document.body.dataset.userId && typeof window.io === "function") {
  start(document.body);
}
