"""GRU4Rec (course_lib.models.gru4rec) and its recipe: shapes, padding, learning a rule, bundles, course train."""

import pytest
import torch

from course_lib import recipes
from course_lib.bundle import load_bundle, save_bundle
from course_lib.metrics import evaluate
from course_lib.models.gru4rec import GRU4Rec, GRU4RecConfig
from course_lib.recipes.gru4rec import train_gru4rec
from course_lib.recipes.run import run_training
from course_lib.sequences import pad_left


def test_shapes_padding_and_the_padding_column():
    torch.manual_seed(0)
    model = GRU4Rec(GRU4RecConfig(num_items=20, max_len=6, hidden_dim=8, gru_dim=12)).eval()
    seqs = torch.tensor([[0, 0, 0, 3, 4, 5], [1, 2, 3, 4, 5, 6]])
    assert model(seqs).shape == (2, 6, 8)
    scores = model.scores(seqs)
    assert scores.shape == (2, 21) and torch.isinf(scores[:, 0]).all() and torch.isfinite(scores[:, 1:]).all()
    # no GRU bias: padding leaves the state at 0, so extra left padding changes nothing
    assert torch.allclose(model.scores(torch.tensor([[3, 4, 5]])), scores[:1], atol=1e-6)
    with pytest.raises(ValueError, match="dropout"):
        GRU4RecConfig(num_items=5, dropout=1.0)


def test_learns_a_deterministic_next_item_rule(walks, one_thread):
    split = walks(num_users=80, length=12, seed=1)
    result = train_gru4rec(split, seed=0, max_len=10, num_epochs=8, eval_every=2, patience=4, progress=False)
    assert evaluate(result["recommender"], split, "test", max_len=10)["hr@10"] >= 0.9


def test_registered_saved_and_reloaded(walks, tmp_path, one_thread):
    split = walks(num_users=30, length=8)
    report = run_training("gru4rec", split, seed=0, fast=True)
    assert recipes.get_trainer("gru4rec") and report.model == "gru4rec" and report.epochs > 0
    assert report.max_len == 50 and report.command().startswith("course train gru4rec")
    import pandas as pd
    items = pd.DataFrame({"item_id": range(1, 31), "title": [f"Film {i}" for i in range(1, 31)]})
    loaded = load_bundle(save_bundle(tmp_path / "g", report.recommender, split, items, name="gru4rec"), device="cpu")
    seqs = pad_left(split.histories("test"), 50)
    assert torch.equal(loaded.model.scores(seqs), report.recommender.cpu().eval().scores(seqs))
