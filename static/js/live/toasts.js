/*
 * Toasts: at most MAX_TOASTS in the page's aria-live region, each from the
 * <template data-template="toast"> of base.html; text only ever goes in as text.
 */
import { localUrl, render } from "./templates.js";

export const MAX_TOASTS = 4;
const TOAST_MS = 6000;
const LINK_TEXT = {
  order_status: "View order",
  new_order: "Open order",
  low_stock: "View product",
  back_in_stock: "View product",
  message: "Read it",
};

const region = document.querySelector("[data-toasts]");

export function showToast({ kind = "info", title, body, url, linkText }) {
  if (!region) {
    return;
  }
  const toast = render("toast", {
    kind,
    title,
    body,
    url: localUrl(url),
    link_text: linkText || LINK_TEXT[kind] || "View",
  });
  toast.querySelector(".toast-close").addEventListener("click", () => dismissToast(toast));
  region.append(toast);
  while (region.children.length > MAX_TOASTS) {
    region.firstElementChild.remove();
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
