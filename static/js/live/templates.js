/*
 * The page's <template data-template="…"> elements: fragments the server renders
 * from the same macros as its own rows and items (templates/_live_templates.html),
 * cloned and filled here.
 *
 * A slot is a token in a template's text or attributes (shop/formatting.Slot):
 * {name}, {name?} (the element holding it is dropped when the value is empty) or
 * {name|format:argument}. Values go in as text, or as the value of one of the
 * FILLABLE attributes: never as markup.
 */
import { amount, utcTime } from "./format.js";

const TOKEN = /\{(\w+)(\?)?(?:\|(\w+)(?::([^{}]*))?)?\}/g;
const HAS_TOKEN = /\{\w+\??(?:\|[^{}]*)?\}/;
const FILLABLE = new Set(["href", "datetime", "data-order-id", "data-seq", "data-kind", "data-message-id", "data-side"]);
const FORMATS = { amount, utc_time: utcTime, status_label: statusLabel, payment_label: paymentLabel };

/** Only same-site paths become links: never javascript: or another host. */
export function localUrl(url) {
  return typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : null;
}

function template(name) {
  const found = document.querySelector(`template[data-template="${name}"]`);
  if (!found) {
    throw new Error(`this page has no <template data-template="${name}">`);
  }
  return found;
}

/** A filled copy of the template's (first) element. */
export function render(name, values = {}) {
  const element = template(name).content.firstElementChild.cloneNode(true);
  fill(element, values);
  return element;
}

/** A copy of the template's element whose `attribute` is `value` (e.g. the badge for one status), or null. */
export function variant(name, attribute, value) {
  for (const candidate of template(name).content.children) {
    if (candidate.getAttribute(attribute) === String(value)) {
      return candidate.cloneNode(true);
    }
  }
  return null;
}

/** How the server labels an order status: the text of its badge. */
export function statusLabel(status) {
  const badge = variant("status-badge", "data-status", status);
  return badge ? badge.textContent : String(status);
}

/** How the server labels a payment status: the text of its badge. */
export function paymentLabel(status) {
  const badge = variant("payment-badge", "data-payment", status);
  return badge ? badge.textContent : String(status);
}

/** Draw the eye to a fragment that just changed (the CSS animates .just-changed). */
export function flashChange(node) {
  node.classList.remove("just-changed");
  void node.offsetWidth; // restart the animation
  node.classList.add("just-changed");
}

/** Put `values` into the slots of `root`, an element cloned from a template. */
export function fill(root, values) {
  const emptied = new Set();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) {
    texts.push(walker.currentNode);
  }
  for (const text of texts) {
    if (HAS_TOKEN.test(text.textContent)) {
      text.textContent = substitute(text.textContent, values, () => emptied.add(text.parentElement));
    }
  }
  for (const element of [root, ...root.querySelectorAll("*")]) {
    for (const { name, value } of Array.from(element.attributes)) {
      if (!HAS_TOKEN.test(value)) {
        continue;
      }
      if (!FILLABLE.has(name)) {
        throw new Error(`a template slot in the ${name} attribute, which is not fillable`);
      }
      const filled = substitute(value, values, () => emptied.add(element));
      element.setAttribute(name, name === "href" ? localUrl(filled) || "#" : filled);
    }
  }
  for (const element of emptied) {
    if (element !== root) {
      element.remove();
    }
  }
}

function substitute(text, values, onEmptyOptional) {
  return text.replace(TOKEN, (token, name, optional, format, argument) => {
    const value = values[name];
    if (value === undefined || value === null || value === "") {
      if (optional) {
        onEmptyOptional();
      }
      return "";
    }
    return String(format ? FORMATS[format](value, argument) : value);
  });
}
