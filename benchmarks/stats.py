"""Exact percentiles over raw nanosecond samples.

Samples are kept raw (8 bytes each) rather than in a histogram: a run keeps at most a
few million, sorting them once at the end costs well under a second, and the numbers
are then exact rather than bucketed.
"""

from __future__ import annotations

import array
import math
from collections.abc import Iterable


def merge(chunks: Iterable[bytes]) -> array.array:
    merged = array.array("q")
    for chunk in chunks:
        merged.frombytes(chunk)
    return merged


def percentiles_ms(samples_ns: array.array | list[int]) -> dict[str, float | int | None]:
    """count, p50, p90, p99, p99.9 and max in milliseconds (None when there are none)."""
    ordered = sorted(samples_ns)
    n = len(ordered)

    def at(q: float) -> float | None:
        if not n:
            return None
        # Nearest-rank: the smallest sample with at least q of the samples at or below it.
        rank = max(1, math.ceil(q * n))
        return round(ordered[min(n, rank) - 1] / 1e6, 3)

    return {
        "count": n,
        "p50_ms": at(0.50),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "p999_ms": at(0.999),
        "max_ms": round(ordered[-1] / 1e6, 3) if n else None,
    }
