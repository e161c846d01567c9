/*
 * Admin pages (order list, order page, product list, product page): follow the feed
 * of changes to orders and products.
 *
 * Every change has a `position` in one gap-free feed (shop/services/changes.py). The
 * page knows the position it was rendered from (data-admin-feed, read by the server
 * before the page's data); every connect asks `admin_sync` for what came after it, and
 * a push past the next position fetches the gap first. Each order and product shown
 * carries the version it shows (data-version): a change no newer is not applied again.
 * An `admin_position` push (each worker's position check) reveals a lost last push.
 *
 * Forms and changes made elsewhere: a form the admin has not touched whose fields the
 * change leaves alone follows it (its hidden version too). Any other form keeps the
 * version it was rendered from, so that submitting it is refused (409) rather than
 * overwriting what the admin has not seen; the notice says who changed what.
 */
import { insertAdminOrderRow, applyOrderStatus } from "./orders.js";
import { applyPaymentStatus } from "./payments.js";
import { applyStock } from "./stock.js";
import { render } from "./templates.js";

const NO_FEED = { catchUp: async () => {}, onChange: () => {}, onPosition: () => {}, following: false };

export function followAdminChanges({ socket, call }) {
  const feed = document.querySelector("[data-admin-feed]");
  if (!feed) {
    return NO_FEED;
  }
  let position = Number.parseInt(feed.dataset.adminFeed, 10) || 0;
  let running = null;
  let again = false;
  const held = [];

  function onChange(change) {
    if (!change || !Number.isInteger(change.position)) {
      return;
    }
    if (running) {
      held.push(change);
    } else if (change.position > position + 1) {
      held.push(change); // a gap: fetch what is missing first
      catchUp();
    } else if (change.position === position + 1) {
      accept(change);
    }
  }

  function accept(change) {
    position = change.position;
    feed.dataset.adminFeed = String(position); // for a test's eyes: where the page stands
    apply(change);
  }

  /** Ask for every change after the position, page by page; a call while one runs joins it. */
  function catchUp() {
    if (running) {
      again = true;
      return running;
    }
    running = syncUntilCurrent()
      .catch(() => false)
      .then((complete) => {
        running = null;
        release(complete);
      });
    return running;
  }

  async function syncUntilCurrent() {
    let complete = false;
    do {
      again = false;
      complete = await syncPages();
    } while (again && socket.connected);
    return complete;
  }

  async function syncPages() {
    for (;;) {
      const ack = await call("admin_sync", { after: position });
      if (!ack.ok) {
        return false;
      }
      for (const change of ack.changes || []) {
        if (change.position === position + 1) {
          accept(change);
        }
      }
      if (!ack.more) {
        return true;
      }
    }
  }

  function release(complete) {
    const changes = held.splice(0).sort((a, b) => a.position - b.position);
    for (const change of changes) {
      if (complete) {
        onChange(change);
      } else if (change.position === position + 1) {
        accept(change); // the sync failed: keep what follows on, the next connect fetches the rest
      }
    }
  }

  /** Where the feed stands (an `admin_position` push): behind it, catch up. */
  function onPosition(payload) {
    if (payload && Number.isInteger(payload.position) && payload.position > position) {
      catchUp();
    }
  }

  return { catchUp, onChange, onPosition, following: true };
}

/** Newer than every element showing the entity? Then they all show this version now. */
function takeVersion(nodes, version) {
  const shown = Math.max(0, ...nodes.map((node) => Number.parseInt(node.dataset.version, 10) || 0));
  if (!Number.isInteger(version) || version <= shown) {
    return false;
  }
  for (const node of nodes) {
    node.dataset.version = String(version);
  }
  return true;
}

function apply(change) {
  const id = Number(change.id);
  if (!Number.isInteger(id) || id <= 0) {
    return;
  }
  if (change.kind === "order") {
    applyOrder(id, change);
  } else if (change.kind === "product") {
    applyProduct(id, change);
  }
}

function applyOrder(id, change) {
  const data = change.data || {};
  if (change.version === 1) {
    insertAdminOrderRow({ ...data, order_id: id }, `/admin/orders/${id}`);
  }
  const page = document.querySelector(`[data-order-page][data-order-id="${id}"]`);
  const nodes = [...document.querySelectorAll(`tr[data-order-id="${id}"]`), ...(page ? [page] : [])];
  if (!takeVersion(nodes, change.version)) {
    return;
  }
  applyOrderStatus({ order_id: id, status: data.status, updated_at: data.updated_at, note: data.note });
  applyPaymentStatus({ order_id: id, payment_status: data.payment_status, updated_at: change.created_at });
  if (page) {
    showNotice(change); // the status and payment forms keep their version: see the top of this file
  }
}

function applyProduct(id, change) {
  const data = change.data || {};
  const nodes = [...document.querySelectorAll(`tr[data-product-id="${id}"], [data-admin-product][data-product-id="${id}"]`)];
  if (!takeVersion(nodes, change.version)) {
    return;
  }
  applyStock({ product_id: id, stock: data.stock });
  for (const form of document.querySelectorAll(`[data-stock-form][data-product-id="${id}"]`)) {
    followIfUntouched(form, change, () => {
      const input = form.querySelector('input[name="stock"]');
      input.value = String(data.stock);
      input.defaultValue = String(data.stock);
    });
  }
  if (document.querySelector(`[data-admin-product][data-product-id="${id}"]`)) {
    const details = document.querySelector("[data-product-details-form]");
    const stockOnly = Array.isArray(data.fields) && data.fields.every((field) => field === "stock");
    if (details && stockOnly) {
      followIfUntouched(details, change, () => {});
    }
    showNotice(change);
  }
}

/** Bring an untouched form to the change's version (after `update` refreshed its inputs). */
function followIfUntouched(form, change, update) {
  if (touched(form)) {
    return;
  }
  update();
  const version = form.querySelector("[data-version]");
  if (version) {
    version.value = String(change.version);
  }
}

/** Whether the admin changed any of the form's fields, or is typing in one. */
function touched(form) {
  for (const input of form.querySelectorAll("input, textarea, select")) {
    if (input.type === "hidden") {
      continue;
    }
    if (input === document.activeElement) {
      return true;
    }
    if (input.type === "checkbox" || input.type === "radio") {
      if (input.checked !== input.defaultChecked) {
        return true;
      }
    } else if (input.tagName === "SELECT") {
      if (Array.from(input.options).some((option) => option.selected !== option.defaultSelected)) {
        return true;
      }
    } else if (input.value !== input.defaultValue) {
      return true;
    }
  }
  return false;
}

function showNotice(change) {
  const notices = document.querySelector("[data-admin-notices]");
  if (!notices) {
    return;
  }
  notices.append(
    render("admin-changed", { actor: change.actor, summary: change.summary, url: window.location.pathname }),
  );
}
