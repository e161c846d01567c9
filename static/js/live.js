/*
 * Hearth & Bean live client: one Socket.IO connection per page of a logged-in user.
 *
 * The server pushes `notification`, `unread`, `order_status` and `stock`; this file
 * turns them into toasts, badges and page updates. Notifications carry a per-user
 * `seq` with no gaps: the last one seen is kept in localStorage, and every connect
 * calls `sync` for whatever came after it, so a tab that was offline catches up.
 * Duplicates (the same seq from a push and a sync) are dropped by seq.
 *
 * Text from the server is only ever inserted with textContent.
 */
(() => {
  "use strict";

  const body = document.body;
  const userId = body.dataset.userId;
  if (!userId || typeof window.io !== "function") {
    return;
  }

  const TOAST_MS = 6000;
  const MAX_TOASTS = 4;
  const CALL_TIMEOUT_MS = 8000;
  const MAX_PRODUCT_SUBSCRIPTIONS = 100;
  const SEQ_KEY = `hearth-bean:last-seq:${userId}`;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const LINK_TEXT = {
    order_status: "View order",
    new_order: "Open order",
    low_stock: "View product",
    back_in_stock: "View product",
  };

  /* ---------- Small helpers ---------- */

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function all(selector, root = document) {
    return Array.from(root.querySelectorAll(selector));
  }

  function capitalize(word) {
    const text = String(word || "");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function money(cents) {
    return `€${(Number(cents) / 100).toFixed(2)}`;
  }

  /** "25 Nov 2026, 14:10" in UTC, like the server's templates. */
  function formatUtc(iso, withYear = true) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) {
      return "";
    }
    const pad = (n) => String(n).padStart(2, "0");
    const year = withYear ? ` ${moment.getUTCFullYear()}` : "";
    return `${pad(moment.getUTCDate())} ${MONTHS[moment.getUTCMonth()]}${year}, ${pad(moment.getUTCHours())}:${pad(moment.getUTCMinutes())}`;
  }

  /** Only same-site paths become links: never javascript: or another host. */
  function localUrl(url) {
    return typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : null;
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function flashChange(node) {
    node.classList.remove("just-changed");
    void node.offsetWidth; // restart the animation
    node.classList.add("just-changed");
  }

  /* ---------- Last seen seq (per user, shared by the user's tabs) ---------- */

  function storedSeq() {
    try {
      return Number.parseInt(localStorage.getItem(SEQ_KEY), 10) || 0;
    } catch {
      return 0; // storage blocked: this tab's memory still dedupes
    }
  }

  function storeSeq(seq, { force = false } = {}) {
    try {
      if (force || seq > storedSeq()) {
        localStorage.setItem(SEQ_KEY, String(seq));
      }
    } catch {
      /* storage blocked or full: nothing to do */
    }
  }

  /* ---------- Connection indicator ---------- */

  const indicator = document.querySelector("[data-live-indicator]");
  const INDICATOR_TITLES = {
    live: "Live updates are on",
    reconnecting: "Connection lost: reconnecting…",
    offline: "Live updates are off; reload the page to try again",
  };

  function setIndicator(state) {
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

  /* ---------- Toasts ---------- */

  const toastRegion = document.querySelector("[data-toasts]");

  function showToast({ kind = "info", title, body: text, url, linkText }) {
    if (!toastRegion) {
      return;
    }
    const toast = el("div", "toast");
    toast.dataset.kind = kind;
    toast.append(el("strong", "toast-title", title));
    if (text) {
      toast.append(el("p", "toast-body", text));
    }
    const href = localUrl(url);
    if (href) {
      const link = el("a", "toast-link", linkText || LINK_TEXT[kind] || "View");
      link.href = href;
      toast.append(link);
    }
    const close = el("button", "toast-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", () => dismissToast(toast));
    toast.append(close);
    toastRegion.append(toast);
    while (toastRegion.children.length > MAX_TOASTS) {
      toastRegion.firstElementChild.remove();
    }
    autoHide(toast);
  }

  /** Hide after TOAST_MS, but not while the pointer or focus is on the toast. */
  function autoHide(toast) {
    let timer = setTimeout(() => dismissToast(toast), TOAST_MS);
    const pause = () => clearTimeout(timer);
    const resume = () => {
      clearTimeout(timer);
      timer = setTimeout(() => dismissToast(toast), TOAST_MS / 2);
    };
    toast.addEventListener("mouseenter", pause);
    toast.addEventListener("focusin", pause);
    toast.addEventListener("mouseleave", resume);
    toast.addEventListener("focusout", resume);
  }

  function dismissToast(toast) {
    if (!toast.isConnected || toast.classList.contains("is-leaving")) {
      return;
    }
    toast.classList.add("is-leaving");
    toast.addEventListener("animationend", () => toast.remove(), { once: true });
    setTimeout(() => toast.remove(), 400); // in case no animation runs
  }

  /* ---------- Unread badge ---------- */

  const unreadBadge = document.querySelector("[data-unread-badge]");

  function setUnread(count) {
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

  /* ---------- Socket and calls ---------- */

  const socket = window.io({ reconnectionDelay: 1000, reconnectionDelayMax: 10000 });

  // Stay under the server's per-connection rate limit (a token bucket there too).
  const bucket = { tokens: 18, capacity: 18, perSecond: 9, at: performance.now() };

  async function takeToken() {
    for (;;) {
      const now = performance.now();
      bucket.tokens = Math.min(bucket.capacity, bucket.tokens + ((now - bucket.at) / 1000) * bucket.perSecond);
      bucket.at = now;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return;
      }
      await sleep(((1 - bucket.tokens) / bucket.perSecond) * 1000);
    }
  }

  function failure(code, message) {
    return { ok: false, error: { code, message } };
  }

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
    if (!ack.ok && ack.error && ack.error.code === "rate_limited" && attempt < 3) {
      await sleep(1000 * (attempt + 1));
      return call(event, payload, attempt + 1);
    }
    return ack;
  }

  /* ---------- Notifications: sync, dedupe, show ---------- */

  let lastSeen = Math.max(storedSeq(), Number.parseInt(body.dataset.lastSeq, 10) || 0);
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

  /** Show and apply notifications newer than lastSeen, in seq order. */
  function accept(notifications) {
    const fresh = notifications.filter((n) => n.seq > lastSeen).sort((a, b) => a.seq - b.seq);
    for (const notification of fresh) {
      lastSeen = notification.seq;
      if (!notification.read) {
        bumpUnread();
      }
      applyNotification(notification);
    }
    storeSeq(lastSeen);
    announce(fresh);
  }

  function announce(notifications) {
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
      insertAdminOrderRow(data);
    }
    prependInboxItem(notification);
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
    lastSeen = Math.max(lastSeen, storedSeq());
    for (;;) {
      const ack = await call("sync", { after_seq: lastSeen });
      if (!ack.ok) {
        return false;
      }
      if (Number.isInteger(ack.last_seq) && ack.last_seq < lastSeen) {
        lastSeen = ack.last_seq; // the server knows less than we do: its database was reset
        storeSeq(lastSeen, { force: true });
      }
      accept(ack.notifications || []);
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

  /* ---------- Inbox ---------- */

  const inbox = document.querySelector("[data-inbox]");
  let readPending = false;
  let readTimer = null;

  function scheduleMarkRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(markInboxRead, 250);
  }

  /** Opening the inbox reads it: mark_read tells every tab to clear the badge. */
  async function markInboxRead() {
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

  function prependInboxItem(notification) {
    if (!inbox) {
      return;
    }
    const item = el("li", "inbox-item unread");
    item.dataset.seq = String(notification.seq);
    const href = localUrl(notification.url);
    const link = el("a");
    link.href = href || "#";
    link.append(el("strong", null, notification.title));
    item.append(link);
    if (notification.body) {
      item.append(el("p", null, notification.body));
    }
    const time = el("time", null, `${formatUtc(notification.created_at)} UTC`);
    time.dateTime = notification.created_at || "";
    item.append(time);
    inbox.prepend(item);
    inbox.hidden = false;
    all("[data-inbox-empty]").forEach((node) => {
      node.hidden = true;
    });
    inbox.dataset.upToSeq = String(Math.max(notification.seq, Number.parseInt(inbox.dataset.upToSeq, 10) || 0));
    all('[data-mark-read-form] input[name="up_to_seq"]').forEach((input) => {
      input.value = inbox.dataset.upToSeq;
    });
    scheduleMarkRead();
  }

  document.addEventListener("visibilitychange", () => {
    if (readPending && document.visibilityState === "visible") {
      markInboxRead();
    }
  });

  /* ---------- Orders ---------- */

  function currentStatus(badge) {
    const match = Array.from(badge.classList).find((name) => name.startsWith("status-"));
    return match ? match.slice("status-".length) : null;
  }

  function setStatusBadge(badge, status) {
    if (currentStatus(badge) === status) {
      return false;
    }
    badge.className = `status status-${status}`;
    badge.textContent = capitalize(status);
    flashChange(badge);
    return true;
  }

  /** An order moved: its page (badge, timeline, forms) and any list row showing it. */
  function applyOrderStatus({ order_id: orderId, status, updated_at: updatedAt, note }) {
    if (!orderId || typeof status !== "string") {
      return;
    }
    const page = document.querySelector(`[data-order-page][data-order-id="${Number(orderId)}"]`);
    if (page) {
      updateOrderPage(page, status, updatedAt, note);
    }
    for (const row of all(`tr[data-order-id="${Number(orderId)}"]`)) {
      updateOrderRow(row, status);
    }
  }

  function updateOrderPage(page, status, updatedAt, note) {
    const badge = page.querySelector("[data-order-status]");
    if (!badge || !setStatusBadge(badge, status)) {
      return; // already showing it: the push and the sync both told us
    }
    const timeline = page.querySelector("[data-timeline]");
    if (timeline) {
      timeline.append(timelineItem(status, updatedAt, note));
    }
    const cancelForm = page.querySelector("[data-cancel-form]");
    if (cancelForm) {
      cancelForm.hidden = status !== "placed";
    }
    const statusForm = page.querySelector("[data-status-form]");
    if (statusForm) {
      retireStatusForm(statusForm, status);
    }
  }

  function timelineItem(status, updatedAt, note) {
    const item = el("li", "is-new");
    item.append(el("span", "timeline-status", capitalize(status)));
    const time = el("time", null, updatedAt ? `${formatUtc(updatedAt)} UTC` : "just now");
    if (updatedAt) {
      time.dateTime = updatedAt;
    }
    item.append(time);
    if (note) {
      item.append(el("p", "timeline-note", note));
    }
    return item;
  }

  /** The admin's status choices were for the old status: ask for a reload instead. */
  function retireStatusForm(form, status) {
    form.hidden = true;
    let notice = form.parentElement.querySelector("[data-status-changed]");
    if (!notice) {
      notice = el("p", "muted");
      notice.dataset.statusChanged = "";
      form.after(notice);
    }
    notice.textContent = `This order is now ${status}. `;
    const reload = el("a", null, "Reload to act on it");
    reload.href = window.location.pathname;
    notice.append(reload);
  }

  function updateOrderRow(row, status) {
    const badge = row.querySelector("[data-order-status]");
    if (badge) {
      setStatusBadge(badge, status);
    }
    const table = row.closest("[data-admin-orders]");
    const filter = table ? table.dataset.statusFilter : "";
    if (filter && filter !== status) {
      row.remove();
      showEmptyOrders(table);
    }
  }

  function showEmptyOrders(table) {
    const empty = document.querySelector("[data-orders-empty]");
    if (empty) {
      empty.hidden = table.querySelectorAll("tbody tr").length > 0;
    }
  }

  /** A new order on the admin list's first page (when the filter lets it in). */
  function insertAdminOrderRow(data) {
    const table = document.querySelector("[data-admin-orders]");
    const orderId = Number(data.order_id);
    if (!table || !Number.isInteger(orderId) || orderId <= 0) {
      return;
    }
    const filter = table.dataset.statusFilter;
    const page = Number.parseInt(new URLSearchParams(window.location.search).get("page"), 10) || 1;
    if ((filter && filter !== "placed") || page > 1 || table.querySelector(`tr[data-order-id="${orderId}"]`)) {
      return;
    }
    const tbody = table.tBodies[0] || table.createTBody();
    tbody.prepend(adminOrderRow(orderId, data));
    showEmptyOrders(table);
  }

  function adminOrderRow(orderId, data) {
    const row = el("tr", "is-new");
    row.dataset.orderId = String(orderId);
    const cell = (label, child, className) => {
      const td = el("td", className);
      td.dataset.label = label;
      td.append(child);
      row.append(td);
    };
    const link = el("a", null, `#${orderId}`);
    link.href = `/admin/orders/${orderId}`;
    cell("Order", link);
    cell("Customer", document.createTextNode(data.customer || ""));
    const time = el("time", null, formatUtc(data.created_at, false));
    time.dateTime = data.created_at || "";
    cell("Placed", time);
    cell("Total", document.createTextNode(money(data.total_cents || 0)), "num");
    const status = data.status || "placed";
    const badge = el("span", `status status-${status}`, capitalize(status));
    badge.dataset.orderStatus = "";
    cell("Status", badge);
    return row;
  }

  /* ---------- Stock ---------- */

  function productIdsOnPage() {
    const ids = new Set();
    for (const node of all("[data-product-id]")) {
      const id = Number.parseInt(node.dataset.productId, 10);
      if (id > 0) {
        ids.add(id);
      }
    }
    return Array.from(ids).slice(0, MAX_PRODUCT_SUBSCRIPTIONS);
  }

  async function subscribeProducts() {
    for (const productId of productIdsOnPage()) {
      const ack = await call("subscribe_product", { product_id: productId });
      if (ack.ok) {
        applyStock({ product_id: productId, stock: ack.stock });
      } else if (!socket.connected) {
        return;
      }
    }
  }

  function stockBadge(stock, threshold) {
    if (stock <= 0) {
      return { className: "stock-out", text: "Out of stock" };
    }
    if (stock <= threshold) {
      return { className: "stock-low", text: `Only ${stock} left` };
    }
    return { className: "stock-in", text: "In stock" };
  }

  /** Stock moved: badges, counts, cards and the product page's buy/watch blocks. */
  function applyStock({ product_id: productId, stock }) {
    const id = Number(productId);
    if (!Number.isInteger(id) || !Number.isInteger(stock)) {
      return;
    }
    for (const badge of all(`[data-stock-badge][data-product-id="${id}"]`)) {
      const threshold = Number.parseInt(badge.dataset.threshold, 10) || 0;
      const next = stockBadge(stock, threshold);
      if (badge.textContent.trim() !== next.text) {
        badge.classList.remove("stock-in", "stock-low", "stock-out");
        badge.classList.add(next.className);
        badge.textContent = next.text;
        flashChange(badge);
      }
    }
    for (const count of all(`[data-stock-count][data-product-id="${id}"]`)) {
      count.textContent = String(stock);
    }
    for (const card of all(`.product-card[data-product-id="${id}"]`)) {
      card.classList.toggle("is-sold-out", stock === 0);
    }
    for (const page of all(`[data-product-page][data-product-id="${id}"]`)) {
      updateBuyBlocks(page, stock > 0);
    }
  }

  function updateBuyBlocks(page, inStock) {
    const form = page.querySelector("[data-add-to-cart]");
    if (form) {
      form.hidden = !inStock;
      all('button[type="submit"], button:not([type])', form).forEach((button) => {
        button.disabled = !inStock;
      });
    }
    const watch = page.querySelector("[data-watch]");
    if (watch) {
      watch.hidden = inStock;
      return;
    }
    let soldOut = page.querySelector("[data-sold-out-note]");
    if (!soldOut && !inStock && form) {
      soldOut = el("p", "muted", "Out of stock");
      soldOut.dataset.soldOutNote = "";
      form.after(soldOut);
    }
    if (soldOut) {
      soldOut.hidden = inStock;
    }
  }

  /* ---------- Connection lifecycle ---------- */

  let everConnected = false;

  /**
   * Catch up, then follow this page's products; only then is the page "live":
   * from that moment every push that concerns it reaches it.
   */
  async function onConnect() {
    const reconnected = everConnected;
    everConnected = true;
    body.removeAttribute("data-live-ready");
    await catchUp();
    await markInboxRead();
    await subscribeProducts();
    if (!socket.connected) {
      return;
    }
    setIndicator("live");
    body.dataset.liveReady = "true";
    if (reconnected && document.querySelector("[data-admin-orders], [data-status-form]")) {
      showToast({ kind: "info", title: "Back online", body: "Reload to see changes made while you were offline." });
    }
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
  socket.on("connect_error", (error) => {
    if (error && error.data && error.data.code === "unauthorized") {
      stop("Your session has ended.");
    } else {
      setIndicator(socket.active ? "reconnecting" : "offline");
    }
  });
  socket.io.on("reconnect_failed", () => setIndicator("offline"));

  socket.on("notification", onNotification);
  socket.on("unread", (payload) => setUnread(payload && payload.unread));
  socket.on("order_status", (payload) => applyOrderStatus(payload || {}));
  socket.on("stock", (payload) => applyStock(payload || {}));
})();
