"""The push channel: room names, the one emitter, and the socket handlers."""
