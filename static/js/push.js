/*
 * Web Push on this device: the button on /account/notifications (and the offer after a
 * first order) turns it on or off; the permission prompt only ever follows a click.
 * Every page of the shop also opens what a clicked notification is about (the service
 * worker asks the tab it focuses).
 */
const WORKER = "/sw.js";
const OFFER_DISMISSED = "push-offer-dismissed";

function supported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function base64UrlToBytes(text) {
  const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function post(url, body, csrfToken) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const answer = await response.json().catch(() => ({ ok: false, error: { message: "The server did not answer." } }));
  if (!answer.ok) {
    throw new Error((answer.error && answer.error.message) || "That did not work.");
  }
  return answer;
}

async function currentSubscription() {
  const registration = await navigator.serviceWorker.getRegistration("/");
  return registration ? registration.pushManager.getSubscription() : null;
}

/** Ask (after a click), subscribe with the shop's VAPID key, and store it on the server. */
export async function turnOn(publicKey, csrfToken) {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    throw new Error("Notifications are blocked for this site in the browser's settings.");
  }
  const registration = await navigator.serviceWorker.register(WORKER, { scope: "/", type: "classic" });
  await navigator.serviceWorker.ready;
  const subscription =
    (await registration.pushManager.getSubscription()) ||
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(publicKey) }));
  return post("/push/subscriptions", subscription.toJSON(), csrfToken);
}

export async function turnOff(csrfToken) {
  const subscription = await currentSubscription();
  if (!subscription) {
    return;
  }
  await post("/push/subscriptions/delete", { endpoint: subscription.endpoint }, csrfToken);
  await subscription.unsubscribe();
}

function wireControls(box) {
  const status = box.querySelector("[data-push-status]");
  const onButton = box.querySelector("[data-push-on]");
  const offButton = box.querySelector("[data-push-off]");
  const { pushKey, csrfToken } = box.dataset;
  const say = (text) => {
    if (status) {
      status.textContent = text;
    }
  };
  const show = (on) => {
    onButton.hidden = on;
    if (offButton) {
      offButton.hidden = !on;
    }
  };
  if (!supported()) {
    onButton.disabled = true;
    say("This browser cannot show notifications from the shop.");
    return;
  }
  currentSubscription().then((subscription) => show(Boolean(subscription) && box.dataset.pushHere === "1"));
  onButton.addEventListener("click", async () => {
    onButton.disabled = true;
    try {
      await turnOn(pushKey, csrfToken);
      show(true);
      say("Notifications are on for this device.");
      if (box.dataset.pushReload === "1") {
        window.location.reload();
      }
    } catch (error) {
      say(error.message);
    } finally {
      onButton.disabled = false;
    }
  });
  if (offButton) {
    offButton.addEventListener("click", async () => {
      try {
        await turnOff(csrfToken);
        show(false);
        say("Notifications are off for this device.");
        window.location.reload();
      } catch (error) {
        say(error.message);
      }
    });
  }
}

/** The offer after a first order: shown once, while the browser has not been asked yet. */
function wireOffer(offer) {
  if (!supported() || Notification.permission !== "default" || localStorage.getItem(OFFER_DISMISSED)) {
    return false;
  }
  offer.hidden = false;
  const dismiss = offer.querySelector("[data-push-dismiss]");
  dismiss.addEventListener("click", () => {
    localStorage.setItem(OFFER_DISMISSED, "1");
    offer.hidden = true;
  });
  offer.querySelector("[data-push-on]").addEventListener("click", () => localStorage.setItem(OFFER_DISMISSED, "1"));
  return true;
}

/** The service worker focused this tab for a clicked notification: open its page. */
function followClicks() {
  navigator.serviceWorker.addEventListener("message", (event) => {
    const message = event.data || {};
    if (message.type !== "push-open" || typeof message.url !== "string") {
      return;
    }
    const url = new URL(message.url, window.location.origin);
    if (url.origin === window.location.origin) {
      window.location.assign(url.href);
    }
  });
}

if (supported()) {
  followClicks();
}
for (const box of document.querySelectorAll("[data-push-controls]")) {
  wireControls(box);
}
for (const offer of document.querySelectorAll("[data-push-offer]")) {
  if (wireOffer(offer)) {
    wireControls(offer);
  }
}
