"""Both ways for the checkers of notebook 08 (training on a GPU): right answers pass, typical wrong ones get a hint."""

import pytest

from exercise_cases import Case, run_both_ways
from course_lib.exercises import gpu
from course_lib.precision import AMP_MIN_WIDTH

CASES = [
    Case(gpu.check_attention_growth, right=lambda: (((400 / 50) ** 2,), {}), wrong=lambda: ((8,), {}),
         hint="position", secret=64),
    Case(gpu.check_matmul_cost_ratio, right=lambda: ((8**3,), {}), wrong=lambda: ((64,), {}), hint="2 * n**3",
         secret=512),
    Case(gpu.check_amp_min_width, right=lambda: ((AMP_MIN_WIDTH,), {}), wrong=lambda: ((512,), {}),
         hint="precision_for"),
    Case(gpu.check_ddp_effective_batch, right=lambda: ((256,), {}), wrong=lambda: ((128,), {}),
         hint="averages", secret=256),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_checker_both_ways(case, capsys):
    run_both_ways(case, capsys)


def test_bad_input_is_a_hint_not_a_traceback(capsys):
    assert not gpu.check_attention_growth("a lot").ok
    assert not gpu.check_ddp_effective_batch(float("inf")).ok
    assert not gpu.check_ddp_effective_batch(64).ok            # the course's own per-process share
    assert capsys.readouterr().out.count("Hint:") == 3
