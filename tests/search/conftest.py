"""The history fixtures: a server with storage, and its clients."""

from tests.history.conftest import hconnect, hserver

__all__ = ["hconnect", "hserver"]
