"""The one timing loop, on a fake clock: warm-up untimed, then exact min / median / per sample."""

import itertools

import numpy as np
import pytest

from deepsphere.experiments.sphere import filtering_speed as fs
from deepsphere.runtime import timing


@pytest.fixture
def clock(monkeypatch):
    """perf_counter returns 0, 1 | 1, 4 | 4, 6 | ...: calls lasting 1, 3, 2 s."""
    ticks = itertools.chain([0.0, 1.0, 1.0, 4.0, 4.0, 6.0], itertools.repeat(6.0))
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks))


def test_time_call_warms_up_untimed_then_times_each_repeat(clock):
    calls = []
    assert timing.time_call(lambda: calls.append(1), 3) == [1.0, 3.0, 2.0]
    assert len(calls) == 4  # one warm-up + 3 timed


def test_filtering_speed_reports_min_and_median_of_the_same_repeats(clock):
    assert fs.time_call(lambda: None, 3) == (1.0, 2.0)


def test_time_per_sample_is_the_median_batch_time_over_the_batch(clock):
    out = timing.time_per_sample(lambda xb: None, np.zeros((10, 2)), batch=4, repeats=3)
    assert out["per_sample_ms"] == pytest.approx(1000 * 2.0 / 4)
    assert (out["batch_size"], out["repeats"]) == (4, 3) and out["hardware"]


def test_repeats_must_be_positive():
    with pytest.raises(ValueError, match="repeats must be >= 1, got 0"):
        timing.time_call(lambda: None, 0)
