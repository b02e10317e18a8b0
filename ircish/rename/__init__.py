"""draft/channel-rename: RENAME."""
