"""The store tests here run on both backends with the store's fixtures; the account
tests use the accounts' server fixture."""

from tests.accounts.conftest import aserver
from tests.store.conftest import (
    db_url,
    engine,
    pytest_configure,
    pytest_generate_tests,
    sqlite_template,
)

__all__ = ["aserver", "db_url", "engine", "pytest_configure", "pytest_generate_tests",
           "sqlite_template"]
