from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.core.helpers import Net, make_server


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return Net(make_server(tmp_path))


@pytest.fixture
def make_net(tmp_path: Path) -> Callable[..., Net]:
    """``make_net({"limits": {...}})`` for a test needing its own config."""

    def make(overrides: dict[str, Any] | None = None, **kwargs: Any) -> Net:
        return Net(make_server(tmp_path, overrides, **kwargs))

    return make
