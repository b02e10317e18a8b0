"""Network bans (K-lines, D-lines): the operators' commands, storage and expiry."""
