"""Percentiles and the median with min-max spread (bench/stats.py)."""

from __future__ import annotations

import math

from bench.stats import Spread, percentile


def test_percentile_interpolates_between_the_nearest_samples() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 95) == 48.0


def test_percentile_sorts_its_input() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 25) == 1.75


def test_percentile_ends_are_min_and_max() -> None:
    values = [7.0, 3.0, 9.0, 5.0]
    assert percentile(values, 0) == 3.0
    assert percentile(values, 100) == 9.0


def test_percentile_of_one_sample_is_that_sample() -> None:
    assert percentile([42.0], 99) == 42.0


def test_percentile_of_no_samples_is_nan() -> None:
    assert math.isnan(percentile([], 50))


def test_spread_is_median_min_max_and_keeps_the_values_in_order() -> None:
    assert Spread.of([30.0, 10.0, 20.0]) == Spread(20.0, 10.0, 30.0, (30.0, 10.0, 20.0))


def test_spread_of_an_even_count_takes_the_middle_mean() -> None:
    assert Spread.of([1.0, 2.0, 4.0, 8.0]).median == 3.0


def test_spread_ignores_nan_repetitions_but_keeps_them_in_values() -> None:
    spread = Spread.of([10.0, math.nan, 30.0])
    assert (spread.median, spread.low, spread.high) == (20.0, 10.0, 30.0)
    assert len(spread.values) == 3
    assert math.isnan(spread.values[1])


def test_spread_with_no_finite_value_is_all_nan() -> None:
    for values in ([], [math.nan, math.nan]):
        spread = Spread.of(values)
        assert math.isnan(spread.median)
        assert math.isnan(spread.low)
        assert math.isnan(spread.high)
