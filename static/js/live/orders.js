/*
 * Orders: status badges, the order page (timeline, cancel and status forms) and
 * the admin's order list. Every badge, timeline item and row comes from the
 * page's templates, so it is the markup the server renders.
 */
import { flashChange, localUrl, render, variant } from "./templates.js";

/** Make `badge` the server's badge for `status`; false if it has none. */
function showStatus(badge, status) {
  const model = variant("status-badge", "data-status", status);
  if (!model) {
    return false;
  }
  badge.setAttribute("class", model.getAttribute("class"));
  badge.dataset.status = status;
  badge.textContent = model.textContent;
  return true;
}

function setStatusBadge(badge, status) {
  if (badge.dataset.status === status || !showStatus(badge, status)) {
    return false;
  }
  flashChange(badge);
  return true;
}

/** An order moved: its page (badge, timeline, forms) and any list row showing it. */
export function applyOrderStatus({ order_id: orderId, status, updated_at: updatedAt, note }) {
  if (!orderId || typeof status !== "string") {
    return;
  }
  const page = document.querySelector(`[data-order-page][data-order-id="${Number(orderId)}"]`);
  if (page) {
    updateOrderPage(page, status, updatedAt, note);
  }
  for (const row of document.querySelectorAll(`tr[data-order-id="${Number(orderId)}"]`)) {
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
    const item = render("timeline-item", { status, created_at: updatedAt, note });
    item.classList.add("is-new");
    timeline.append(item);
  }
  const cancelForm = page.querySelector("[data-cancel-form]");
  if (cancelForm) {
    cancelForm.hidden = status !== cancelForm.dataset.cancellable;
  }
}

function updateOrderRow(row, status) {
  const badge = row.querySelector("[data-order-status]");
  if (badge) {
    setStatusBadge(badge, status);
  }
  removeFilteredRow(row, "statusFilter", status);
}

/** An admin list filtered (data-status-filter, data-payment-filter) on another value drops the row. */
export function removeFilteredRow(row, filterName, value) {
  const table = row.closest("[data-admin-orders]");
  const filter = table ? table.dataset[filterName] : "";
  if (filter && filter !== value) {
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

/** A new order (a new_order notification) on the admin list's first page, when the filter lets it in. */
export function insertAdminOrderRow(data, url) {
  const table = document.querySelector("[data-admin-orders]");
  const orderId = Number(data.order_id);
  if (!table || !Number.isInteger(orderId) || orderId <= 0) {
    return;
  }
  const page = Number.parseInt(new URLSearchParams(window.location.search).get("page"), 10) || 1;
  if (page > 1 || table.querySelector(`tr[data-order-id="${orderId}"]`)) {
    return;
  }
  const row = render("admin-order-row", {
    order_id: orderId,
    url: localUrl(url),
    customer: data.customer,
    created_at: data.created_at,
    total_cents: data.total_cents || 0,
  });
  const badge = row.querySelector("[data-order-status]");
  const status = typeof data.status === "string" ? data.status : badge.dataset.status;
  const filter = table.dataset.statusFilter;
  if ((filter && filter !== status) || !showStatus(badge, status)) {
    return;
  }
  const payment = row.querySelector("[data-payment-status]");
  const paymentFilter = table.dataset.paymentFilter;
  if (paymentFilter && (!payment || payment.dataset.payment !== paymentFilter)) {
    return; // the filter leaves out the payment status every new order starts with
  }
  row.classList.add("is-new");
  const tbody = table.tBodies[0] || table.createTBody();
  tbody.prepend(row);
  showEmptyOrders(table);
}
