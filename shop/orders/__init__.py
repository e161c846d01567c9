"""orders blueprint."""
