"""SASRec on GPT-2: shapes, tied item table, causal mask, padding, both losses, learning a planted rule."""

import pytest
import torch

from course_lib.metrics import evaluate
from course_lib.models.sasrec import SASRec, SASRecConfig, sample_negatives
from course_lib.recipes.sasrec import train_sasrec
from course_lib.sequences import NextItemDataset
from course_lib.train import TrainConfig, fit

NUM_ITEMS = 30


def tiny_model(max_len: int = 8, attn: str = "sdpa", seed: int = 0, dropout: float = 0.1, loss: str = "ce"):
    torch.manual_seed(seed)
    config = SASRecConfig(num_items=NUM_ITEMS, max_len=max_len, hidden_dim=16, num_heads=2, num_layers=2,
                          dropout=dropout, loss=loss, attn_implementation=attn)
    return SASRec(config).eval()


def test_shapes_and_score_columns():
    model = tiny_model()
    seqs = torch.tensor([[0, 0, 0, 3, 4, 5], [1, 2, 3, 4, 5, 6]])
    assert model(seqs).shape == (2, 6, 16)
    scores = model.scores(seqs)
    assert scores.shape == (2, NUM_ITEMS + 1)
    assert torch.isinf(scores[:, 0]).all() and torch.isfinite(scores[:, 1:]).all()
    long_history = torch.arange(1, 21)[None]                  # longer than max_len: only the last 8 count
    assert torch.equal(model.scores(long_history), model.scores(long_history[:, -8:]))


def test_item_table_is_shared_by_input_and_scores():
    model = tiny_model()
    assert model.item_emb is model.gpt.wte.weight and model.item_emb.shape == (NUM_ITEMS + 1, 16)
    seqs = torch.tensor([[0, 2, 3, 4]])
    expected = model(seqs)[:, -1] @ model.item_emb[1:].T
    assert torch.allclose(model.scores(seqs)[:, 1:], expected, atol=1e-6)


def test_bad_config_and_input():
    with pytest.raises(ValueError, match="divisible"):
        SASRecConfig(num_items=5, hidden_dim=10, num_heads=3)
    with pytest.raises(ValueError, match="loss"):
        SASRecConfig(num_items=5, loss="bpr")
    with pytest.raises(ValueError, match="exceeds max_len"):
        tiny_model()(torch.ones(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="eager"):
        tiny_model()(torch.ones(1, 3, dtype=torch.long), output_attentions=True)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_causal_later_items_never_change_earlier_outputs(attn):
    model = tiny_model(attn=attn)
    seqs = torch.tensor([[0, 0, 1, 2, 3, 4, 5, 6]])
    changed = seqs.clone()
    changed[0, 5:] = torch.tensor([20, 21, 22])
    before, after = model(seqs), model(changed)
    assert torch.allclose(before[0, :5], after[0, :5], atol=1e-6)
    assert not torch.allclose(before[0, 5:], after[0, 5:], atol=1e-3)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_padding_never_attended_and_never_nan(attn):
    model = tiny_model(attn=attn)
    short = torch.tensor([[3, 4, 5]])
    padded = torch.tensor([[0, 0, 0, 0, 0, 3, 4, 5]])        # same history, more left padding
    assert torch.allclose(model(short)[0], model(padded)[0, -3:], atol=1e-5)
    empty = torch.zeros(2, 8, dtype=torch.long)               # users with no history at all
    assert torch.isfinite(model(empty)).all() and torch.isfinite(model.scores(empty)[:, 1:]).all()
    if attn == "eager":
        _, attentions = model(padded, output_attentions=True)
        weights = attentions[0][0, :, -3:]                    # (heads, real queries, keys)
        assert weights[..., :5].abs().max() == 0 and torch.allclose(weights.sum(-1), torch.ones(2, 3))


def test_ce_loss_is_full_softmax_over_items_at_real_positions():
    model = tiny_model(dropout=0.0)
    inputs = torch.tensor([[0, 0, 3, 4, 5, 6]])
    labels = torch.tensor([[0, 0, 4, 5, 6, 7]])
    logits = model(inputs)[0, 2:] @ model.item_emb[1:].T      # (4, N): column j = item j+1
    expected = torch.nn.functional.cross_entropy(logits, labels[0, 2:] - 1)
    assert torch.allclose(model.loss((inputs, labels)), expected, atol=1e-6)
    with pytest.raises(ValueError, match="nothing to predict|no position"):
        model.loss((inputs, torch.zeros_like(labels)))


def test_bce_negatives_are_uniform_and_never_the_target():
    model = tiny_model(dropout=0.0, loss="bce")
    targets = torch.full((20000,), 7)
    torch.manual_seed(0)
    counts = torch.bincount(sample_negatives(targets, NUM_ITEMS), minlength=NUM_ITEMS + 1)
    others = counts[[i for i in range(1, NUM_ITEMS + 1) if i != 7]]
    assert counts[0] == 0 and counts[7] == 0 and (others > 0).all()
    assert others.max() < 1.25 * others.float().mean()       # uniform up to sampling noise
    loss = model.loss((torch.tensor([[0, 1, 2]]), torch.tensor([[0, 2, 3]])))
    assert loss.ndim == 0 and torch.isfinite(loss) and loss > 0


def test_excluded_items_leave_the_ce_softmax_and_get_no_gradient():
    model = tiny_model(dropout=0.0)
    inputs, labels = torch.tensor([[0, 0, 3, 4, 5, 6]]), torch.tensor([[0, 0, 4, 5, 6, 7]])
    excluded = [10, 11, 12]
    model.exclude_from_training(excluded)
    keep = [i for i in range(1, NUM_ITEMS + 1) if i not in excluded]
    logits = model(inputs)[0, 2:] @ model.item_emb[keep].T     # softmax over the kept items only
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor([keep.index(i) for i in (4, 5, 6, 7)]))
    loss = model.loss((inputs, labels))
    assert torch.allclose(loss, expected, atol=1e-6)
    loss.backward()
    grad = model.gpt.wte.weight.grad
    assert grad[excluded].abs().sum() == 0 and grad[keep].abs().sum() > 0
    assert torch.isfinite(model.scores(inputs)[0, excluded]).all()   # still scored, still recommendable
    mask = torch.zeros(NUM_ITEMS + 1, dtype=torch.bool)
    mask[excluded] = True
    model.exclude_from_training(mask)                          # a boolean mask does the same
    assert torch.equal(model.loss_excluded, mask)
    assert "loss_excluded" not in model.state_dict()           # checkpoints stay as before
    with pytest.raises(ValueError, match="excluded from training"):
        model.loss((inputs, torch.tensor([[0, 0, 4, 5, 6, 10]])))
    with pytest.raises(ValueError, match="1..30"):
        model.exclude_from_training([0, 31])
    with pytest.raises(ValueError, match="N\\+1"):
        model.exclude_from_training(torch.ones(3, dtype=torch.bool))


def test_bce_negatives_skip_excluded_items():
    allowed = torch.tensor([2, 5, 7, 9])
    torch.manual_seed(0)
    negatives = sample_negatives(torch.tensor([5, 9] * 5000), NUM_ITEMS, allowed)
    assert set(negatives[::2].tolist()) == {2, 7, 9} and set(negatives[1::2].tolist()) == {2, 5, 7}
    model = tiny_model(dropout=0.0, loss="bce")
    model.exclude_from_training([i for i in range(1, NUM_ITEMS + 1) if i not in (1, 2, 3)])
    loss = model.loss((torch.tensor([[0, 1, 2]]), torch.tensor([[0, 2, 3]])))
    assert torch.isfinite(loss)
    with pytest.raises(ValueError, match="too few items"):
        model.exclude_from_training(list(range(2, NUM_ITEMS + 1)))


@pytest.mark.parametrize("loss", ["ce", "bce"])
def test_learns_a_deterministic_next_item_rule(loss, one_thread, walks):
    split = walks(seed=1)
    model = tiny_model(max_len=10, dropout=0.0, loss=loss)
    config = TrainConfig(lr=5e-3, batch_size=32, num_epochs=40, eval_every=5, patience=100, max_len=10,
                         seed=0, progress=False)
    history = fit(model, NextItemDataset(split, 10), split, config)
    assert evaluate(model, split, "test", max_len=10)["hr@10"] >= 0.9
    assert history["loss"][-1] < history["loss"][0]


def test_course_recipe_runs_end_to_end_in_seconds(one_thread, walks):
    split = walks(num_users=30, length=8)
    result = train_sasrec(split, seed=0, progress=False, max_len=6, hidden_dim=16, num_epochs=2, eval_every=1)
    assert result["model"] == "sasrec" and result["epochs"] == 2 and 0 <= result["valid"]["ndcg@10"] <= 1
    assert result["recommender"].scores(torch.tensor([[1, 2, 3]])).shape == (1, NUM_ITEMS + 1)
    with pytest.raises(ValueError, match="unknown SASRec setting"):
        train_sasrec(split, seed=0, hidden_size=16)


@pytest.mark.parametrize("name", ["sasrec", "sasrec-bce"])
def test_registered_for_course_train(name, one_thread, walks):
    from course_lib import recipes
    result = recipes.get_trainer(name)(walks(num_users=30, length=8), seed=0, fast=True)
    assert result["model"] == name and result["epochs"] <= 4
    for key in ("valid", "seconds_per_epoch", "total_seconds", "recommender"):
        assert key in result
