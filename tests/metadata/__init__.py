"""Tests of IRCv3 metadata (ircish.metadata, ircish.store.metadata)."""
