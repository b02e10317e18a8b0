"""What the store raises, in a module any process may import."""

from __future__ import annotations


class StorageError(RuntimeError):
    """The database cannot be used as configured (names the cause)."""


class StoreUnavailable(RuntimeError):
    """The history worker is not running (it died and is being restarted)."""


class StoreQueryError(RuntimeError):
    """A history query failed in the worker; the message names the cause."""
