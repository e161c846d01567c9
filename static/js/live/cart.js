/*
 * The cart badge in the nav: rendered once by the server, then kept to the
 * count that `cart {count}` pushes say (an add, a removal or a checkout in any
 * tab or device of the user).
 */

export function setCartCount(payload) {
  const count = payload && payload.count;
  if (!Number.isInteger(count) || count < 0) {
    return;
  }
  for (const badge of document.querySelectorAll(".badge-cart")) {
    badge.textContent = String(count);
    badge.hidden = count === 0;
  }
}
