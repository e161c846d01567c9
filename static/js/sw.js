/*
 * The shop's service worker (served at /sw.js, scope "/"): shows a Web Push as a system
 * notification and, when it is clicked, brings a tab of the shop to the page it is about.
 *
 * The payload (JSON, decrypted by the browser) carries title, body, icon, url, tag (one per
 * order: a later status replaces the earlier one on the screen too), seq and `shown`, a
 * signed token that tells the server the push was shown, so that it is not emailed as well.
 */

/** The page a notification's click opens: the payload's url, kept on this origin. */
function targetOf(notification) {
  const url = new URL((notification.data && notification.data.url) || "/notifications", self.location.origin);
  return url.origin === self.location.origin ? url.href : new URL("/notifications", self.location.origin).href;
}

async function reportShown(token) {
  if (typeof token !== "string") {
    return;
  }
  try {
    await fetch("/push/shown", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
  } catch (error) {
    // Offline: the notification is still shown; at worst it is emailed too.
  }
}

async function showPush(payload) {
  await self.registration.showNotification(payload.title || "Hearth & Bean", {
    body: payload.body || "",
    icon: payload.icon,
    tag: payload.tag,
    renotify: Boolean(payload.tag),
    data: { url: payload.url, seq: payload.seq },
  });
  await reportShown(payload.shown);
}

/** Focus a tab of the shop and tell it to open ``url``; with none open, open one. */
async function openPage(url) {
  const tabs = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const tab = tabs.find((client) => new URL(client.url).origin === self.location.origin);
  if (!tab) {
    return self.clients.openWindow(url);
  }
  tab.postMessage({ type: "push-open", url });
  try {
    await tab.focus();
  } catch (error) {
    // Focusing needs the click's user activation; the tab opens the page either way.
  }
  return tab;
}

self.addEventListener("push", (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch (error) {
    payload = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(showPush(payload));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openPage(targetOf(event.notification)));
});

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
