"""The domain rules. Routes, socket handlers and the CLI call these; nothing else changes data.

One calling convention:

- A function that takes ``session`` first joins the caller's transaction:
  it writes or reads there and never commits (``notify``,
  ``record_stock_change``). Only services call these, inside their own
  ``write_transaction()``.
- A function without ``session`` stands alone. One that changes data opens
  its own ``write_transaction()``, commits it and pushes what it queued
  after the commit; one that only reads uses the request's session.
- Refusals are ``DomainError`` subclasses (``errors.py``) carrying a code and
  an HTTP status, never a return value.
"""
