"""catalog blueprint."""
