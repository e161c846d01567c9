"""Web Push: the service worker, subscriptions of this browser, and what it showed."""
