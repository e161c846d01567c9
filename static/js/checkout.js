/*
 * The checkout page: of the totals the server rendered for every delivery method
 * (all shown without script), show the chosen method's only.
 */
const form = document.querySelector("[data-checkout-form]");

function showChosenTotals() {
  const chosen = form.querySelector("input[name='shipping_method']:checked");
  for (const totals of form.querySelectorAll("[data-totals-for]")) {
    totals.hidden = Boolean(chosen) && totals.dataset.totalsFor !== chosen.value;
  }
}

if (form) {
  form.addEventListener("change", showChosenTotals);
  showChosenTotals();
}
