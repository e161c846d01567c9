/*
 * Payment status: the badge and the payment timeline on an order page, and the badge of any order list row showing the order. Badges
 * and timeline items come from the page's templates, as the server renders them.
 */
import { removeFilteredRow } from "./orders.js";
import { flashChange, render, variant } from "./templates.js";

/** Make `badge` the server's payment badge for `status`; false if there is no change. */
function setPaymentBadge(badge, status) {
  const model = variant("payment-badge", "data-payment", status);
  if (!model || badge.dataset.payment === status) {
    return false;
  }
  badge.setAttribute("class", model.getAttribute("class"));
  badge.dataset.payment = status;
  badge.textContent = model.textContent;
  flashChange(badge);
  return true;
}

/** An order's payment moved: its page and any list row showing it. */
export function applyPaymentStatus({ order_id: orderId, payment_status: status, updated_at: updatedAt }) {
  if (!orderId || typeof status !== "string") {
    return;
  }
  const page = document.querySelector(`[data-order-page][data-order-id="${Number(orderId)}"]`);
  if (page) {
    updatePaymentSection(page, status, updatedAt);
  }
  for (const row of document.querySelectorAll(`tr[data-order-id="${Number(orderId)}"]`)) {
    const badge = row.querySelector("[data-payment-status]");
    if (badge) {
      setPaymentBadge(badge, status);
    }
    removeFilteredRow(row, "paymentFilter", status);
  }
}

function updatePaymentSection(page, status, updatedAt) {
  const badge = page.querySelector("[data-order-payment] [data-payment-status]");
  if (!badge || !setPaymentBadge(badge, status)) {
    return; // already showing it: the push and a reload both told us
  }
  const timeline = page.querySelector("[data-payment-timeline]");
  if (timeline) {
    const item = render("payment-timeline-item", { payment_status: status, created_at: updatedAt });
    item.classList.add("is-new");
    timeline.append(item);
  }
  for (const shown of page.querySelectorAll("[data-shown-while]")) {
    shown.hidden = shown.dataset.shownWhile !== status;
  }
}
