"""draft/message-redaction: REDACT."""
