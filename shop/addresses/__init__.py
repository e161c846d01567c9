"""Address book blueprint."""
