"""draft/read-marker: which message a user has read last, per target, on every device."""
