"""The averaging and rounding rule as a pure function: edge cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from edutrack.services.diary.averages import (
    plain_average,
    propose,
    propose_from_sums,
    round_mark,
    weighted_average,
)

HALF = Decimal("0.5")


@pytest.mark.parametrize(("average", "threshold", "mark"), [
    ("3.5", "0.5", 4),      # exactly x.5 rounds up by default
    ("3.49", "0.5", 3),
    ("3.5", "0.6", 3),      # a stricter school
    ("3.6", "0.6", 4),
    ("3.59", "0.6", 3),
    ("4.5", "0.5", 5),
    ("5", "0.5", 5),
    ("1", "0.5", 1),
    ("2.99", "1", 2),       # threshold 1: never round up
    ("4.75", "0.75", 5),
])
def test_round_mark(average: str, threshold: str, mark: int) -> None:
    assert round_mark(Decimal(average), Decimal(threshold)) == mark


def test_round_mark_rejects_bad_thresholds() -> None:
    for bad in ("0", "1.5", "-0.1"):
        with pytest.raises(ValueError):
            round_mark(Decimal("3.5"), Decimal(bad))


def test_weighted_average_uses_weights_and_skips_non_numeric() -> None:
    assert weighted_average([(5, 3), (3, 1)]) == Decimal(18) / Decimal(4)
    assert weighted_average([(5, 3), (None, 10), (3, 1)]) == Decimal("4.5")
    assert weighted_average([]) is None
    assert weighted_average([(None, 1), (None, 3)]) is None
    assert weighted_average([(4, 2)]) == 4


def test_proposal_edge_cases() -> None:
    # (5×1 + 4×1) / 2 = 4.5 -> 5 with the default threshold, 4 with 0.6.
    grades = [(5, 1), (4, 1), (None, 1)]
    assert propose(grades, min_marks=2, threshold=HALF).proposed == "5"
    assert propose(grades, min_marks=2, threshold=Decimal("0.6")).proposed == "4"
    # Non-numeric marks do not count towards the minimum.
    assert propose(grades, min_marks=3, threshold=HALF).proposed == "na"
    only_marks = propose([(None, 1), (None, 2)], min_marks=1, threshold=HALF)
    assert only_marks.proposed == "na"
    assert only_marks.average is None
    assert only_marks.numeric_count == 0
    none = propose([], min_marks=0, threshold=HALF)
    assert none.proposed == "na"
    assert none.average is None
    one = propose([(3, 2)], min_marks=1, threshold=HALF)
    assert one.proposed == "3"
    assert one.average == 3
    assert one.numeric_count == 1
    # Weights decide: one test (weight 3) of 2 against three homeworks (weight 1) of 5 -> (6+15)/6 = 3.5 -> 4
    weighted = propose([(2, 3), (5, 1), (5, 1), (5, 1)], min_marks=3, threshold=HALF)
    assert weighted.average == Decimal("3.5")
    assert weighted.proposed == "4"
    # 11/3 = 3.666... -> 4, and two decimals for display.
    third = propose([(4, 1), (4, 1), (3, 1)], min_marks=3, threshold=Decimal("0.67"))
    assert third.proposed == "3"
    assert third.average_2dp == Decimal("3.67")
    assert propose_from_sums(26, 6, 3, min_marks=3, threshold=HALF).proposed == "4"
    assert propose_from_sums(0, 0, 0, min_marks=0, threshold=HALF).proposed == "na"


def test_plain_average() -> None:
    assert plain_average([5, 4, None, 3]) == 4
    assert plain_average([None]) is None
