"""Outbound: what the server tells clients, below the services.

``rooms`` names the rooms; ``publisher`` is the only module that emits, and
only after the change that caused a push has committed. What clients send
lives in ``shop.sockets``.
"""
