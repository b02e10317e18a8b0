"""Memory given back once, when the server has gone quiet after a crowd."""

from __future__ import annotations

from ircish.net.giveback import MIN_PEAK, QUIET_RATIO, QUIET_S, Giveback, glibc_trim


class Trims:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return 1


def test_a_crowd_that_left_is_given_back_once_after_a_quiet_spell() -> None:
    trims = Trims()
    giveback = Giveback(trims)
    now = 0.0
    for count in range(MIN_PEAK * 2 + 1):  # a crowd arrives...
        assert not giveback.check(count, now)
        now += 0.1
    left = MIN_PEAK * 2 // QUIET_RATIO
    assert not giveback.check(left, now)  # ...and leaves: not at once
    assert not giveback.check(left, now + QUIET_S / 2)
    assert giveback.check(left, now + QUIET_S)
    assert trims.calls == 1
    # Nothing more until another crowd has come and gone.
    for step in range(1, 100):
        assert not giveback.check(left, now + QUIET_S + step)
    assert trims.calls == 1


def test_no_give_back_while_busy_or_after_a_small_peak() -> None:
    trims = Trims()
    giveback = Giveback(trims)
    for second in range(100):
        giveback.check(MIN_PEAK - 1, float(second))  # never a crowd
    busy = Giveback(trims)
    busy.check(MIN_PEAK * 4, 0.0)
    for second in range(1, 100):
        # Above a quarter of the peak, or dipping below it for less than QUIET_S.
        count = MIN_PEAK * 4 // QUIET_RATIO + (1 if second % 5 else -1)
        busy.check(count, float(second))
    assert trims.calls == 0


def test_a_reconnection_wave_restarts_the_quiet_spell() -> None:
    trims = Trims()
    giveback = Giveback(trims)
    giveback.check(MIN_PEAK * 4, 0.0)
    giveback.check(0, 1.0)
    giveback.check(MIN_PEAK * 4, 1.0 + QUIET_S / 2)  # they came back
    assert not giveback.check(0, 1.0 + QUIET_S)
    assert giveback.check(0, 1.0 + QUIET_S + QUIET_S)
    assert trims.calls == 1


def test_without_glibc_it_still_collects() -> None:
    giveback = Giveback(None)
    giveback.check(MIN_PEAK, 0.0)
    giveback.check(0, 0.0)
    assert giveback.check(0, QUIET_S)
    assert giveback.done == 1


def test_glibc_trim_is_callable_where_there_is_one() -> None:
    trim = glibc_trim()
    if trim is not None:
        assert trim() in (0, 1)
