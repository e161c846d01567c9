/*
 * The browser's formats for pushed values (the server's are in shop/formatting.py).
 *
 * The patterns come from the server: a <template> asks for a format by name with
 * its argument, e.g. {created_at|utc_time:%d %b, %H:%M}, so only how to apply
 * one lives here.
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const pad = (number) => String(number).padStart(2, "0");

/** The strftime fields the server's TIME_FORMATS use, all in UTC. */
const FIELDS = {
  d: (moment) => pad(moment.getUTCDate()),
  b: (moment) => MONTHS[moment.getUTCMonth()],
  Y: (moment) => String(moment.getUTCFullYear()),
  H: (moment) => pad(moment.getUTCHours()),
  M: (moment) => pad(moment.getUTCMinutes()),
  "%": () => "%",
};

/** An ISO 8601 moment through a strftime pattern, in UTC; "" when it is not a moment. */
export function utcTime(iso, pattern) {
  const moment = new Date(iso);
  if (!iso || Number.isNaN(moment.getTime())) {
    return "";
  }
  return String(pattern).replace(/%(.)/g, (field, letter) => (FIELDS[letter] ? FIELDS[letter](moment) : field));
}

/** Cents as a decimal amount: 1800 → "18.00" (the template puts the currency around it). */
export function amount(cents) {
  return (Number(cents) / 100).toFixed(2);
}
