"""Search across history: the soju.im/search extension (SEARCH)."""
