"""cart blueprint."""
