"""``benchmarks.seen_bench`` builds the greeting read and times it: a few reads."""

from __future__ import annotations

import pytest

from benchmarks.seen_bench import main


def test_the_seen_read_runs_and_finds_nobody(capsys: pytest.CaptureFixture[str]) -> None:
    # Its reads assert that a nick which never spoke is found nowhere.
    assert main(["--channels", "3", "--busy", "600", "--quiet", "2", "--reads", "2"]) == 0
    out = capsys.readouterr().out
    assert "over 3 channels (600 + 2 each lines, window 500), sqlite:" in out
    assert out.rstrip().endswith("ms a read")
