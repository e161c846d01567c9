"""Notification preferences and the one-click unsubscribe."""
