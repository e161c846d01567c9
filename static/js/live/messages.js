/*
 * The order conversation: the thread on an order page (the shopper's or the admin's),
 * the admin's conversations page and the count in the admin nav.
 *
 * On an order page the socket watches the order (watch_order, again after every
 * reconnect, with the last message id shown so that what was missed comes back in
 * the ack), sends with send_message under a client id made here (a retry of the
 * same id stores one message), reads with read_messages while the page is visible,
 * and shows presence, typing and "Seen". Messages come from the page's
 * <template data-template="message-item">, filled with text only. Without a
 * connection the form posts as it does without JavaScript.
 */
import { sleep } from "./socket.js";
import { localUrl, render } from "./templates.js";

const TYPING_SENT_EVERY_MS = 2000;

const thread = document.querySelector("[data-thread]");
const conversations = document.querySelector("[data-conversations]");

function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return window.crypto.randomUUID();
  }
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/* ---------- The admin nav's count and the conversations page ---------- */

function setUnreadThreads(count) {
  if (!Number.isInteger(count)) {
    return;
  }
  for (const badge of document.querySelectorAll("[data-conversations-badge]")) {
    badge.textContent = String(Math.max(count, 0));
    badge.hidden = count <= 0;
  }
}

/** A customer wrote (an admin's `message` notification): the thread goes to the top, unread. */
function conversationWritten(notification) {
  const data = notification.data || {};
  setUnreadThreads(data.unread_threads);
  if (!conversations || !Number.isInteger(data.order_id)) {
    return;
  }
  const body = conversations.querySelector("tbody");
  const old = body.querySelector(`tr[data-order-id="${data.order_id}"]`);
  const row = render("conversation-row", {
    order_id: data.order_id,
    url: localUrl(notification.url),
    customer: data.customer || (old ? old.children[1].textContent : ""),
    author: data.customer || "",
    body: notification.body,
    created_at: notification.created_at,
  });
  row.dataset.unread = "";
  if (old) {
    old.remove();
  }
  body.prepend(row);
  for (const empty of document.querySelectorAll("[data-conversations-empty]")) {
    empty.hidden = true;
  }
}

/** The shop read a thread (in any admin's tab): its row is no longer new. */
function conversationRead(payload) {
  if (payload.side !== "shop") {
    return;
  }
  setUnreadThreads(payload.unread_threads);
  const row = conversations && conversations.querySelector(`tr[data-order-id="${Number(payload.order_id)}"]`);
  if (row) {
    delete row.dataset.unread;
    const mark = row.querySelector("[data-conversation-new]");
    if (mark) {
      mark.hidden = true;
    }
  }
}

/** Whether a notification is a message of the thread this page shows, in sight: no toast then. */
export function shownInThread(notification) {
  const data = (notification && notification.data) || {};
  return (
    notification.kind === "message" &&
    thread !== null &&
    data.order_id === Number.parseInt(thread.dataset.orderId, 10) &&
    document.visibilityState === "visible"
  );
}

/** What a `message` notification changes on this page besides its toast. */
export function applyMessageNotification(notification) {
  if (document.body.dataset.admin) {
    conversationWritten(notification);
  }
}

/* ---------- The thread on an order page ---------- */

function openThread({ socket, call }, body) {
  const orderId = Number.parseInt(thread.dataset.orderId, 10);
  const side = thread.dataset.side;
  const list = thread.querySelector("[data-messages]");
  const form = thread.querySelector("[data-message-form]");
  const textarea = form.querySelector("textarea");
  const errorLine = form.querySelector("[data-message-error]");
  const typingLine = thread.querySelector("[data-typing]");
  const presenceLine = thread.querySelector("[data-presence]");
  const viewingLine = thread.querySelector("[data-viewing]");
  const typingMs = (Number.parseFloat(body.dataset.typingSeconds) || 4) * 1000;
  let pendingClientId = null; // kept until acked, so that a retry is the same message
  let typingTimer = null;
  let lastTypingSent = 0;
  let readTimer = null;

  const lastId = (which) => {
    const items = list.querySelectorAll(which ? `[data-side="${which}"]` : "[data-message-id]");
    return items.length ? Number.parseInt(items[items.length - 1].dataset.messageId, 10) : 0;
  };
  const otherSide = side === "shop" ? "customer" : "shop";

  /** "Seen" under the last message when it is this side's and the other side read it. */
  function showSeen() {
    const mine = lastId(side);
    const seen = Number.parseInt(thread.dataset.seenUpTo, 10) || 0;
    thread.querySelector("[data-seen]").hidden = !(mine && mine === lastId() && seen >= mine);
  }

  function append(message) {
    if (!message || message.order_id !== orderId || list.querySelector(`[data-message-id="${message.id}"]`)) {
      return false;
    }
    const author = message.author || {};
    const item = render("message-item", {
      id: message.id,
      author: author.name,
      side: author.is_shop ? "shop" : "customer",
      body: message.body,
      created_at: message.created_at,
    });
    item.classList.add("is-new");
    list.append(item);
    thread.querySelector("[data-thread-empty]").hidden = true;
    if ((author.is_shop ? "shop" : "customer") !== side) {
      typingLine.hidden = true;
      scheduleRead();
    }
    showSeen();
    return true;
  }

  /** Mark what the other side wrote read, once the page is visible. */
  function scheduleRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(markRead, 250);
  }

  async function markRead() {
    if (document.visibilityState !== "visible" || !socket.connected) {
      return;
    }
    const upTo = lastId(otherSide);
    if (upTo > 0) {
      await call("read_messages", { order_id: orderId, up_to_id: upTo });
    }
  }

  function showPresence(presence) {
    if (!presence || presence.order_id !== orderId) {
      return;
    }
    const online = side === "shop" ? presence.customer_online : presence.shop_online;
    presenceLine.textContent = online ? presenceLine.dataset.online : presenceLine.dataset.offline;
    presenceLine.dataset.state = online ? "online" : "offline";
    presenceLine.hidden = false;
    if (Array.isArray(presence.viewing)) {
      const me = body.dataset.userName;
      const others = presence.viewing.filter((name) => name !== me);
      viewingLine.querySelector("[data-viewing-names]").textContent = others.join(", ");
      viewingLine.hidden = others.length === 0;
    }
  }

  function showTyping(typing) {
    if (!typing || typing.order_id !== orderId || (side === "customer" && !typing.is_shop)) {
      return;
    }
    typingLine.querySelector("[data-typing-name]").textContent = typing.name;
    typingLine.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => {
      typingLine.hidden = true;
    }, typingMs);
  }

  function showError(message) {
    errorLine.textContent = message || "";
    errorLine.hidden = !message;
  }

  async function send(event) {
    if (!socket.connected) {
      return; // the form posts: the page comes back with the message
    }
    event.preventDefault();
    const text = textarea.value;
    pendingClientId = pendingClientId || newClientId();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    let ack = await call("send_message", { order_id: orderId, body: text, client_id: pendingClientId });
    if (!ack.ok && ["timeout", "offline"].includes(ack.error && ack.error.code)) {
      await sleep(1000);
      ack = await call("send_message", { order_id: orderId, body: text, client_id: pendingClientId });
    }
    button.disabled = false;
    if (ack.ok) {
      pendingClientId = null;
      textarea.value = "";
      showError("");
      append(ack.message);
    } else {
      showError(ack.error && ack.error.message);
    }
  }

  function typed() {
    pendingClientId = null; // a new text is a new message
    const now = Date.now();
    if (socket.connected && now - lastTypingSent > TYPING_SENT_EVERY_MS) {
      lastTypingSent = now;
      call("typing", { order_id: orderId });
    }
  }

  /** (Re)watch after every connect; what came while away comes back with the ack. */
  async function watch() {
    const ack = await call("watch_order", { order_id: orderId, after_id: lastId() });
    if (!ack.ok) {
      return;
    }
    showPresence(ack.presence);
    for (const message of ack.messages || []) {
      append(message);
    }
    scheduleRead();
  }

  form.addEventListener("submit", send);
  textarea.addEventListener("input", typed);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      markRead();
    }
  });
  socket.on("message", append);
  socket.on("presence", showPresence);
  socket.on("typing", showTyping);
  socket.on("messages_read", (payload) => {
    if (payload && payload.order_id === orderId && payload.side === otherSide) {
      thread.dataset.seenUpTo = String(Math.max(payload.up_to_id, Number.parseInt(thread.dataset.seenUpTo, 10) || 0));
      showSeen();
    }
  });
  return { watch };
}

/** Start the conversation parts of this page; `watch` is to be awaited on every connect. */
export function followConversation(connection, body) {
  connection.socket.on("messages_read", (payload) => conversationRead(payload || {}));
  const opened = thread ? openThread(connection, body) : null;
  return { watch: () => (opened ? opened.watch() : Promise.resolve()) };
}
