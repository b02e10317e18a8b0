"""Network tests that need PostgreSQL take ``postgres_url``: without one they skip, and say
why (a skip raised inside the Trio test itself loses its reason)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from ircish.network import db
from tests.store import postgres


@pytest.fixture
def postgres_url() -> str:
    return postgres.admin_url()


@pytest.fixture
def writer(url: str) -> Iterator[psycopg.Connection[Any]]:
    """Node n1's writer connection, as the network worker's: autocommit, joined. (``url``
    is the module's: ``tests.network.test_db``'s fresh migrated database.)"""
    c = db.connect(url, autocommit=True)
    db.join(c, "n1", 30)
    yield c
    c.close()
