"""The store tests here run on both backends with the store's fixtures."""

from tests.store.conftest import db_url, engine, pytest_configure, pytest_generate_tests

__all__ = ["db_url", "engine", "pytest_configure", "pytest_generate_tests"]
