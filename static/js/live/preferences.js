/*
 * Notification preferences: the switches on /account/notifications follow a change
 * made in any tab (the server pushes `preferences` after saving). The form itself
 * works without this script.
 */

/** Set every switch on the page to what the server says; unknown ones are left alone. */
export function applyPreferences(payload) {
  const preferences = payload && payload.preferences;
  if (!preferences || typeof preferences !== "object") {
    return;
  }
  for (const input of document.querySelectorAll("input[data-preference][data-topic]")) {
    const channel = preferences[input.dataset.preference];
    const on = channel && channel[input.dataset.topic];
    if (typeof on === "boolean") {
      input.checked = on;
    }
  }
}
