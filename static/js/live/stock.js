/*
 * Stock: follow the products on the page (at most the server's MAX_PRODUCT_ROOMS,
 * given on <body>), and show what `stock` pushes say: badges from the page's
 * stock-badge template, counts, cards and the product page's buy and watch blocks.
 */
import { fill, flashChange, variant } from "./templates.js";

function productIdsOnPage(limit) {
  const ids = new Set();
  for (const node of document.querySelectorAll("[data-product-id]")) {
    const id = Number.parseInt(node.dataset.productId, 10);
    if (id > 0) {
      ids.add(id);
    }
  }
  return Array.from(ids).slice(0, limit);
}

/**
 * Subscribe to every product on the page, showing the stock each ack reports, while
 * the tab is visible: a hidden tab leaves the product rooms (no pushes nobody looks
 * at) and catches up from the acks when it is shown again.
 */
let followingVisibility = false;

export async function followProducts({ socket, call }, limit) {
  if (!followingVisibility) {
    followingVisibility = true;
    document.addEventListener("visibilitychange", () => {
      if (socket.connected) {
        (document.visibilityState === "visible" ? subscribe : unsubscribe)({ socket, call }, limit);
      }
    });
  }
  if (document.visibilityState === "visible") {
    await subscribe({ socket, call }, limit);
  }
}

async function subscribe({ socket, call }, limit) {
  document.body.dataset.following = "yes";
  for (const productId of productIdsOnPage(limit)) {
    const ack = await call("subscribe_product", { product_id: productId });
    if (ack.ok) {
      applyStock({ product_id: productId, stock: ack.stock });
    } else if (!socket.connected) {
      return;
    }
  }
}

async function unsubscribe({ socket, call }, limit) {
  for (const productId of productIdsOnPage(limit)) {
    if (!socket.connected) {
      return;
    }
    await call("unsubscribe_product", { product_id: productId });
  }
  document.body.dataset.following = "no"; // for a test's eyes: every room left
}

/** Which of the server's badges a stock level gets (as the stock_badge macro decides). */
function stockState(stock, threshold) {
  if (stock <= 0) {
    return "out";
  }
  return stock <= threshold ? "low" : "in";
}

function updateBadge(badge, stock) {
  const threshold = Number.parseInt(badge.dataset.threshold, 10) || 0;
  const model = variant("stock-badge", "data-stock-state", stockState(stock, threshold));
  if (!model) {
    return;
  }
  fill(model, { stock });
  if (badge.textContent.trim() !== model.textContent.trim()) {
    badge.setAttribute("class", model.getAttribute("class"));
    badge.dataset.stockState = model.dataset.stockState;
    badge.textContent = model.textContent;
    flashChange(badge);
  }
}

/** Stock moved: badges, counts, cards and the product page's buy/watch blocks. */
export function applyStock({ product_id: productId, stock }) {
  const id = Number(productId);
  if (!Number.isInteger(id) || !Number.isInteger(stock)) {
    return;
  }
  for (const badge of document.querySelectorAll(`[data-stock-badge][data-product-id="${id}"]`)) {
    updateBadge(badge, stock);
  }
  for (const count of document.querySelectorAll(`[data-stock-count][data-product-id="${id}"]`)) {
    count.textContent = String(stock);
  }
  for (const card of document.querySelectorAll(`.product-card[data-product-id="${id}"]`)) {
    card.classList.toggle("is-sold-out", stock === 0);
  }
  for (const page of document.querySelectorAll(`[data-product-page][data-product-id="${id}"]`)) {
    updateBuyBlocks(page, stock > 0);
  }
}

/** Add to cart while in stock, the back-in-stock alert while not. */
function updateBuyBlocks(page, inStock) {
  const form = page.querySelector("[data-add-to-cart]");
  if (form) {
    form.hidden = !inStock;
    for (const button of form.querySelectorAll('button[type="submit"], button:not([type])')) {
      button.disabled = !inStock;
    }
  }
  const watch = page.querySelector("[data-watch]");
  if (watch) {
    watch.hidden = inStock;
  }
}
