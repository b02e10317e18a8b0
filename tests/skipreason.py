"""Keep the reason of a skip raised inside a Trio test or fixture.

pytest-trio (0.8) catches the ExceptionGroup that ``pytest.skip("why")`` arrives in from
``trio.run`` and raises a new ``pytest.skip()`` without the reason, so the summary says only
``python.py:187: Skipped``. This hook reports the original skip instead: its reason and the
line that raised it. Loaded by tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from _pytest.outcomes import Skipped


def _single_skip(group: BaseException | None) -> Skipped | None:
    leaves: list[BaseException] = []
    queue = [group] if isinstance(group, BaseExceptionGroup) else []
    while queue:
        ex = queue.pop()
        if isinstance(ex, BaseExceptionGroup):
            queue.extend(ex.exceptions)
        else:
            leaves.append(ex)
    return leaves[0] if len(leaves) == 1 and isinstance(leaves[0], Skipped) else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None]:
    excinfo = call.excinfo
    # Only the bare skip pytest-trio raises: any skip with a reason of its own is left as it is.
    if excinfo is not None and isinstance(excinfo.value, Skipped) and not excinfo.value.msg:
        original = _single_skip(excinfo.value.__context__)
        if original is not None:
            call.excinfo = pytest.ExceptionInfo.from_exception(original)
    yield
