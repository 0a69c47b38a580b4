"""The averaging and rounding rule of term marks, as pure functions (the SQL only sums).

weighted average = Σ(value × weight) / Σ(weight) over numeric grades (1..5) only; non-numeric marks
(н/а, зачёт, незачёт, освобождён) never enter it. The proposed term mark is the average rounded by the
school's threshold: the integer part, plus one when the fractional part is >= the threshold
(threshold 0.5: 3.5 -> 4, 3.49 -> 3; threshold 0.6: 3.5 -> 3, 3.6 -> 4). With fewer numeric grades than
the school's minimum the proposal is "na" (не аттестован).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

NOT_ATTESTED = "na"
TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class Proposal:
    average: Decimal | None  # exact weighted average (None without numeric grades)
    numeric_count: int
    proposed: str  # "1".."5" or "na"

    @property
    def average_2dp(self) -> Decimal | None:
        return None if self.average is None else self.average.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def weighted_average(grades: Iterable[tuple[int | None, int]]) -> Decimal | None:
    """(value or None for a non-numeric mark, weight) pairs -> exact weighted average, or None."""
    total = 0
    weights = 0
    for value, weight in grades:
        if value is None:
            continue
        total += value * weight
        weights += weight
    return average_of_sums(total, weights)


def average_of_sums(weighted_sum: int | Decimal | None, weight_sum: int | Decimal | None) -> Decimal | None:
    if not weight_sum:
        return None
    return Decimal(weighted_sum or 0) / Decimal(weight_sum)


def round_mark(average: Decimal, threshold: Decimal) -> int:
    """Round an average to a mark 1..5 by the threshold on its fractional part."""
    if not Decimal(0) < threshold <= Decimal(1):
        raise ValueError("threshold must be in (0, 1]")
    whole = int(average)  # averages are >= 1, so int() is floor
    mark = whole + 1 if average - whole >= threshold else whole
    return max(1, min(5, mark))


def propose_from_sums(weighted_sum: int | Decimal | None, weight_sum: int | Decimal | None, numeric_count: int,
                      *, min_marks: int, threshold: Decimal) -> Proposal:
    average = average_of_sums(weighted_sum, weight_sum)
    if average is None or numeric_count < max(min_marks, 1):
        return Proposal(average, numeric_count, NOT_ATTESTED)
    return Proposal(average, numeric_count, str(round_mark(average, threshold)))


def propose(grades: Iterable[tuple[int | None, int]], *, min_marks: int, threshold: Decimal) -> Proposal:
    items = list(grades)
    numeric = [(v, w) for v, w in items if v is not None]
    total = sum(v * w for v, w in numeric if v is not None)
    weights = sum(w for _, w in numeric)
    return propose_from_sums(total, weights, len(numeric), min_marks=min_marks, threshold=threshold)


def plain_average(values: Iterable[int | None]) -> Decimal | None:
    numeric = [v for v in values if v is not None]
    if not numeric:
        return None
    return Decimal(sum(numeric)) / Decimal(len(numeric))


def plain_average_of_sums(value_sum: int | Decimal | None, count: int | None) -> Decimal | None:
    if not count:
        return None
    return Decimal(value_sum or 0) / Decimal(count)
