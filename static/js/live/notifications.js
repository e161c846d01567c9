/*
 * Notifications: sync, dedupe, toasts, the inbox and the unread badge.
 *
 * Notifications carry a per-user `seq` with no gaps, within an inbox `epoch`.
 * The page knows the position it was rendered from (data-last-seq, read by the
 * server before the page's data): every connect syncs from there, so nothing
 * written after it is missing (what is on the page already is dropped by seq;
 * the inbox page starts from the highest seq it lists, if that is higher).
 * The last seq any tab showed is kept in localStorage so that a toast shows
 * once per person, not once per tab. A `position` push says where the inbox
 * stands even when the last push was lost; an epoch that changed (the database
 * was re-created, the seqs reset) reloads the page.
 */
import { applyMessageNotification, shownInThread } from "./messages.js";
import { applyOrderStatus, insertAdminOrderRow } from "./orders.js";
import { MAX_TOASTS, showToast } from "./toasts.js";
import { localUrl, render } from "./templates.js";

/* ---------- Last seen seq (per user, shared by the user's tabs) ---------- */

function seqStore(userId, epoch) {
  const key = `hearth-bean:last-seq:${userId}`;
  const epochKey = `hearth-bean:epoch:${userId}`;
  const stored = () => {
    try {
      return Number.parseInt(localStorage.getItem(key), 10) || 0;
    } catch {
      return 0; // storage blocked: this tab's memory still dedupes
    }
  };
  const store = (seq, { force = false } = {}) => {
    try {
      if (force || seq > stored()) {
        localStorage.setItem(key, String(seq));
      }
    } catch {
      /* storage blocked or full: nothing to do */
    }
  };
  try {
    if (localStorage.getItem(epochKey) !== epoch) {
      localStorage.setItem(epochKey, epoch); // another run of seqs: what was stored names nothing
      localStorage.setItem(key, "0");
    }
  } catch {
    /* storage blocked */
  }
  return { stored, store };
}

/* ---------- Seen: what a visible tab showed is never emailed ---------- */

/**
 * Report to the server (`seen {up_to_seq}`) the last seq this tab showed while visible;
 * what it showed while hidden is reported when the tab becomes visible. Calls are
 * batched (one per half second at most), within the socket's rate limit.
 */
function seenReporter(call) {
  let shown = 0;
  let reported = 0;
  let timer = null;

  function flush() {
    timer = null;
    if (document.visibilityState !== "visible" || shown <= reported) {
      return;
    }
    const upTo = shown;
    call("seen", { up_to_seq: upTo }).then((ack) => {
      if (ack && ack.ok) {
        reported = Math.max(reported, upTo);
      }
    });
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !timer) {
      timer = setTimeout(flush, 250);
    }
  });
  return (seq) => {
    shown = Math.max(shown, seq);
    if (!timer) {
      timer = setTimeout(flush, 500);
    }
  };
}

/* ---------- Unread badge ---------- */

const unreadBadge = document.querySelector("[data-unread-badge]");

export function setUnread(count) {
  if (!unreadBadge || !Number.isInteger(count)) {
    return;
  }
  const value = Math.max(count, 0);
  unreadBadge.textContent = String(value);
  unreadBadge.hidden = value === 0;
}

function bumpUnread() {
  if (unreadBadge) {
    setUnread((Number.parseInt(unreadBadge.textContent, 10) || 0) + 1);
  }
}

/* ---------- Inbox ---------- */

/** The open inbox: shows what arrives and reads it (mark_read clears the badge in every tab). */
function openInbox({ socket, call }) {
  const inbox = document.querySelector("[data-inbox]");
  let readPending = false;
  let readTimer = null;

  async function markRead() {
    if (!inbox || !socket.connected) {
      return;
    }
    if (document.visibilityState !== "visible") {
      readPending = true;
      return;
    }
    readPending = false;
    const upTo = Number.parseInt(inbox.dataset.upToSeq, 10) || 0;
    if (upTo > 0) {
      const ack = await call("mark_read", { up_to_seq: upTo });
      if (ack.ok) {
        setUnread(ack.unread);
      }
    }
  }

  function prepend(notification) {
    if (!inbox) {
      return;
    }
    inbox.prepend(
      render("inbox-item", {
        seq: notification.seq,
        url: localUrl(notification.url),
        title: notification.title,
        body: notification.body,
        created_at: notification.created_at,
      }),
    );
    inbox.hidden = false;
    for (const node of document.querySelectorAll("[data-inbox-empty]")) {
      node.hidden = true;
    }
    inbox.dataset.upToSeq = String(Math.max(notification.seq, Number.parseInt(inbox.dataset.upToSeq, 10) || 0));
    for (const input of document.querySelectorAll('[data-mark-read-form] input[name="up_to_seq"]')) {
      input.value = inbox.dataset.upToSeq;
    }
    clearTimeout(readTimer);
    readTimer = setTimeout(markRead, 250);
  }

  document.addEventListener("visibilitychange", () => {
    if (readPending && document.visibilityState === "visible") {
      markRead();
    }
  });
  /** The highest seq the inbox was rendered with (0 off the inbox page). */
  function shownUpTo() {
    return (inbox && Number.parseInt(inbox.dataset.upToSeq, 10)) || 0;
  }

  return { markRead, prepend, shownUpTo };
}

/* ---------- Sync, dedupe, show ---------- */

export function followNotifications(connection, body) {
  const { socket, call } = connection;
  const epoch = body.dataset.epoch || "";
  const seqs = seqStore(body.dataset.userId, epoch);
  const inbox = openInbox(connection);
  const reportSeen = seenReporter(call);
  // What this page shows: its position, or more when its data was read after a newer
  // notification committed (the inbox then lists it already, and the sync must not again).
  let lastSeen = Math.max(Number.parseInt(body.dataset.lastSeq, 10) || 0, inbox.shownUpTo());
  let syncRun = null; // the sync in progress, if any
  let syncAgain = false;
  const heldBack = []; // pushes that arrived while a sync was running

  function onNotification(notification) {
    if (!notification || !Number.isInteger(notification.seq)) {
      return;
    }
    if (syncRun) {
      heldBack.push(notification);
    } else if (notification.seq > lastSeen + 1) {
      heldBack.push(notification); // a gap: fetch what is missing first
      catchUp();
    } else {
      accept([notification]);
    }
  }

  /**
   * Apply notifications newer than this page's position, in seq order, and toast them:
   * every open tab toasts a push, but what a catch-up finds is toasted only if no tab
   * has shown it yet (the page's position may be older than what another tab showed).
   */
  function accept(notifications, { caughtUp = false } = {}) {
    const fresh = notifications.filter((n) => n.seq > lastSeen).sort((a, b) => a.seq - b.seq);
    const shownElsewhere = seqs.stored();
    const toToast = caughtUp ? fresh.filter((n) => n.seq > shownElsewhere) : fresh;
    for (const notification of fresh) {
      lastSeen = notification.seq;
      applyNotification(notification);
    }
    for (const notification of toToast) {
      if (!notification.read) {
        bumpUnread();
      }
    }
    seqs.store(lastSeen);
    announce(toToast);
    if (fresh.length && (toToast.length <= MAX_TOASTS || document.querySelector("[data-inbox]"))) {
      reportSeen(lastSeen); // each one toasted here, or shown elsewhere before, or in the open inbox
    }
  }

  /** Where the inbox stands (a `position` push): catch up when behind, start again in a new epoch. */
  function onPosition(position) {
    if (!position || typeof position.epoch !== "string" || !Number.isInteger(position.top_seq)) {
      return;
    }
    if (position.epoch !== epoch) {
      window.location.reload();
    } else if (position.top_seq > lastSeen) {
      catchUp();
    }
  }

  function announce(all) {
    const notifications = all.filter((n) => !shownInThread(n)); // the open thread shows it already
    if (notifications.length > MAX_TOASTS) {
      showToast({
        kind: "info",
        title: `${notifications.length} updates while you were away`,
        url: "/notifications",
        linkText: "Open your inbox",
      });
      return;
    }
    for (const n of notifications) {
      showToast({ kind: n.kind, title: n.title, body: n.body, url: n.url });
    }
  }

  /** What a notification changes on this page, besides the toast. */
  function applyNotification(notification) {
    const data = notification.data || {};
    if (notification.kind === "order_status" && data.order_id) {
      applyOrderStatus({
        order_id: data.order_id,
        status: data.status,
        updated_at: notification.created_at,
        note: notification.body,
      });
    } else if (notification.kind === "new_order") {
      insertAdminOrderRow(data, notification.url);
    } else if (notification.kind === "message") {
      applyMessageNotification(notification);
    }
    inbox.prepend(notification);
  }

  /**
   * Ask for everything after the last seq seen, page by page, then release the
   * pushes held back meanwhile. A call while a sync runs joins it (and runs it once more).
   */
  function catchUp() {
    if (syncRun) {
      syncAgain = true;
      return syncRun;
    }
    syncRun = syncUntilCurrent()
      .catch(() => false)
      .then((complete) => {
        syncRun = null; // first, so that released pushes are not held back again
        releaseHeldBack(complete);
      });
    return syncRun;
  }

  async function syncUntilCurrent() {
    let complete = false;
    do {
      syncAgain = false;
      complete = await syncPages();
    } while (syncAgain && socket.connected);
    return complete;
  }

  async function syncPages() {
    for (;;) {
      const ack = await call("sync", { after_seq: lastSeen });
      if (!ack.ok) {
        return false;
      }
      if (typeof ack.epoch === "string" && ack.epoch !== epoch) {
        window.location.reload(); // another run of seqs: the page shows an inbox that is gone
        return false;
      }
      if (Number.isInteger(ack.last_seq) && ack.last_seq < lastSeen) {
        lastSeen = ack.last_seq; // the server knows less than we do: its database was reset
        seqs.store(lastSeen, { force: true });
      }
      accept(ack.notifications || [], { caughtUp: true });
      if (Number.isInteger(ack.up_to_seq)) {
        lastSeen = Math.max(lastSeen, ack.up_to_seq); // past rows we may no longer see
      }
      setUnread(ack.unread);
      if (!ack.more) {
        return true;
      }
    }
  }

  function releaseHeldBack(afterCompleteSync) {
    const held = heldBack.splice(0).sort((a, b) => a.seq - b.seq);
    if (!afterCompleteSync) {
      accept(held); // the sync failed: show what we have rather than loop
      return;
    }
    for (const notification of held) {
      onNotification(notification);
    }
  }

  return { onNotification, onPosition, catchUp, markInboxRead: inbox.markRead };
}
