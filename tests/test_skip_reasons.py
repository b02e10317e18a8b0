"""A skip raised inside a Trio test or async fixture keeps its reason in the summary
(tests/skipreason.py; pytest-trio alone reports a bare ``Skipped``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = '''
import pytest
import trio


async def test_in_the_test():
    await trio.sleep(0)
    pytest.skip("reason from the test")


@pytest.fixture
async def refusing():
    pytest.skip("reason from the fixture")
    yield


async def test_in_a_fixture(refusing):
    pass


async def test_with_its_own_reason_in_an_except():
    try:
        raise ExceptionGroup("two", [ValueError(1), KeyError(2)])
    except ExceptionGroup:
        pytest.skip("a reason of its own")
'''


def test_a_skip_inside_trio_keeps_its_reason_and_line(tmp_path: Path) -> None:
    (tmp_path / "test_cases.py").write_text(CASES)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.skipreason",
         "-o", "trio_mode=true", "-rs", "-q", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "3 skipped" in out, out
    assert "test_cases.py:8: reason from the test" in out, out
    assert "test_cases.py:13: reason from the fixture" in out, out
    assert "test_cases.py:25: a reason of its own" in out, out
    assert "python.py" not in out, out
