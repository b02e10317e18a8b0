"""Network tests that need PostgreSQL take ``postgres_url``: without one they skip, and say
why (a skip raised inside the Trio test itself loses its reason)."""

from __future__ import annotations

import pytest

from tests.store import postgres


@pytest.fixture
def postgres_url() -> str:
    return postgres.admin_url()
