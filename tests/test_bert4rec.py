"""BERT4Rec: shapes, the cloze data, bidirectional attention, padding, and learning a planted rule."""

import pytest
import torch

from course_lib.metrics import evaluate
from course_lib.models.bert4rec import Bert4Rec, Bert4RecConfig, ClozeWithLastItemDataset
from course_lib.recipes.bert4rec import FAST_OVERRIDES, train_bert4rec, train_default, valid_curve
from course_lib.sequences import ClozeDataset, pad_left

NUM_ITEMS = 30


def tiny_model(max_len: int = 12, attn: str = "sdpa", seed: int = 0, dropout: float = 0.1) -> Bert4Rec:
    torch.manual_seed(seed)
    config = Bert4RecConfig(num_items=NUM_ITEMS, max_len=max_len, hidden_dim=16, num_heads=2,
                            num_layers=2, dropout=dropout, attn_implementation=attn)
    return Bert4Rec(config).eval()


def test_shapes_and_score_columns():
    model = tiny_model()
    seqs = torch.tensor([[0, 0, 0, 3, 4, 5], [1, 2, 3, 4, 5, 6]])
    assert model(seqs).shape == (2, 6, 16)
    scores = model.scores(seqs)
    assert scores.shape == (2, NUM_ITEMS + 1)          # columns 0..N: [MASK] (N+1) has no column
    assert torch.isneginf(scores[:, 0]).all()
    assert torch.isfinite(scores[:, 1:]).all()
    longer = torch.randint(1, NUM_ITEMS + 1, (2, 40))   # longer than max_len: oldest items dropped
    assert model.scores(longer).shape == (2, NUM_ITEMS + 1)


def test_mask_appended_after_history():
    model = tiny_model(max_len=5)
    out = model.with_mask_appended(torch.tensor([[0, 0, 7, 8], [1, 2, 3, 4], [0, 0, 0, 0]]))
    mask = model.mask_id
    assert out.tolist() == [[0, 0, 7, 8, mask], [1, 2, 3, 4, mask], [0, 0, 0, 0, mask]]
    out = model.with_mask_appended(torch.tensor([[1, 2, 3, 4, 5, 6]]))
    assert out.tolist() == [[3, 4, 5, 6, mask]]


def test_bad_config_and_input():
    with pytest.raises(ValueError, match="num_heads"):
        Bert4RecConfig(num_items=10, hidden_dim=30, num_heads=4)
    with pytest.raises(ValueError, match="num_items"):
        Bert4RecConfig(num_items=0)
    model = tiny_model(max_len=4)
    with pytest.raises(ValueError, match="max_len"):
        model(torch.ones(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="no masked position"):
        model.loss((torch.ones(2, 4, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long)))


def test_cloze_masking_rate_and_padding_never_masked(walks):
    split = walks(num_users=200, length=8)
    mask_id = split.num_items + 1
    torch.manual_seed(0)
    data = ClozeDataset(split, max_len=12, mask_prob=0.3, mask_id=mask_id)
    masked = real = 0
    for epoch in range(5):
        for i in range(len(data)):
            inputs, labels = data[i]
            original = pad_left([data.examples[i]], 12)[0]
            is_mask = inputs == mask_id
            assert not is_mask[original == 0].any(), "a padding position was masked"
            assert (labels[is_mask] == original[is_mask]).all() and (labels[~is_mask] == 0).all()
            assert (inputs[~is_mask] == original[~is_mask]).all()
            masked += int(is_mask.sum())
            real += int((original > 0).sum())
    assert 0.28 < masked / real < 0.34        # 0.3 plus the forced one-per-sequence when none was drawn


def test_last_item_examples_mask_only_the_last_item(walks):
    split = walks(num_users=20, length=6)
    cloze = ClozeDataset(split, max_len=8, mask_prob=0.2, mask_id=split.num_items + 1)
    data = ClozeWithLastItemDataset(cloze, last_item_prob=1.0)
    inputs, labels = data[0]
    original = pad_left([cloze.examples[0]], 8)[0]
    assert inputs[-1] == split.num_items + 1 and labels[-1] == original[-1]
    assert (labels[:-1] == 0).all() and (inputs[:-1] == original[:-1]).all()
    with pytest.raises(ValueError, match="last_item_prob"):
        ClozeWithLastItemDataset(cloze, last_item_prob=1.5)


def test_bidirectional_later_items_change_earlier_outputs():
    model = tiny_model()
    seqs = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8]])
    changed = seqs.clone()
    changed[0, -1] = 20
    before, after = model(seqs), model(changed)
    # every real position sees the last item: the opposite of a causal model
    assert not torch.allclose(before[0, 2:-1], after[0, 2:-1], atol=1e-5)
    assert (before[0, 2:-1] - after[0, 2:-1]).abs().amax(dim=-1).min() > 1e-6


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_padding_never_attended(attn):
    model = tiny_model(attn=attn)
    seqs = torch.tensor([[0, 0, 0, 5, 6, 7], [0, 1, 2, 3, 4, 5]])
    before = model(seqs)
    with torch.no_grad():                                 # change what padding would contribute
        model.bert.embeddings.word_embeddings.weight[0] += 5.0
    after = model(seqs)
    real = seqs > 0
    assert torch.allclose(before[real], after[real], atol=1e-5)
    assert not torch.isnan(after).any()
    if attn == "eager":
        _, attentions = model(seqs, output_attentions=True)
        for layer in attentions:                          # (B, heads, L, L): no weight on padded keys
            assert layer[0, :, :, :3].abs().max() == 0


def test_loss_uses_masked_positions_only():
    model = tiny_model()
    inputs = torch.tensor([[0, 0, 3, model.mask_id, 5, model.mask_id]])
    labels = torch.tensor([[0, 0, 0, 4, 0, 6]])
    hidden = model(inputs)
    logits = model.item_logits(hidden[0, [3, 5]])
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor([4, 6]))
    assert torch.allclose(model.loss((inputs, labels)), expected)


TINY = {"max_len": 10, "hidden_dim": 16, "dropout": 0.0, "mask_prob": 0.3, "last_item_prob": 0.5,
        "lr": 5e-3, "batch_size": 32, "eval_every": 20, "patience": 3, "progress": False}


@pytest.mark.parametrize("seed", [0, 1])
def test_learns_a_deterministic_next_item_rule(seed, one_thread, walks):
    split = walks(num_items=NUM_ITEMS, seed=seed)
    untrained = Bert4Rec(Bert4RecConfig(num_items=NUM_ITEMS, max_len=10, hidden_dim=16))
    assert evaluate(untrained, split, "test", exclude_history=False, max_len=10)["hr@10"] < 0.6
    result = train_bert4rec(split, seed=seed, num_epochs=60, **TINY)
    test = evaluate(result["recommender"], split, "test", exclude_history=False, max_len=10)
    assert test["hr@10"] >= 0.9, test


def test_train_default_fast_runs_end_to_end(one_thread, walks):
    split = walks(num_users=20, length=8)
    result = train_default(split, seed=0, fast=True)
    assert result["model"] == "bert4rec" and result["epochs"] == FAST_OVERRIDES["num_epochs"]
    assert 0.0 <= result["valid"]["ndcg@10"] <= 1.0
    assert not result["recommender"].training
    curve = valid_curve(result["history"])
    assert list(curve.columns) == ["epoch", "ndcg@10"] and len(curve) == len(result["history"]["valid"])
    with pytest.raises(ValueError, match="unknown BERT4Rec setting"):
        train_bert4rec(split, seed=0, hiden_dim=8)
