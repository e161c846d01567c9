"""account blueprint: the signed-in user's own page (login sessions)."""
