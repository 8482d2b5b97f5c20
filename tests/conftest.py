"""Fixtures shared by the unit tests: small leave-one-out splits with a rule a model can learn."""

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib.sequences import leave_one_out


def walk_split(num_users: int = 60, length: int = 15, num_items: int = 30, seed: int = 0):
    """Every user walks the items in order from a random start: item i is always followed by item i+1 (wrapping
    around), so the next item is a deterministic function of the last one. Timestamps are all distinct."""
    rng = np.random.default_rng(seed)
    rows = [(u, (start + t) % num_items + 1, 1000 + t)
            for u, start in enumerate(rng.integers(num_items, size=num_users)) for t in range(length)]
    return leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))


@pytest.fixture
def walks():
    """``walk_split`` itself, to call with the sizes a test needs: ``walks(num_users=30, length=8)``."""
    return walk_split


@pytest.fixture
def tiny_split():
    """60 users, 8 items each, walking 40 items: what the CLI and recipe tests train on in seconds."""
    rng = np.random.default_rng(0)
    rows = [(u, (s + t) % 40 + 1, t) for u, s in enumerate(rng.integers(0, 40, 60)) for t in range(8)]
    return leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))


@pytest.fixture
def one_thread():
    """Tiny models train several times faster on one thread than on two oversubscribed cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
