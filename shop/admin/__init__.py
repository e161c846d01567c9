"""admin blueprint."""
