"""Tests of the text-based SASRec variants (course_lib.models.sasrec_text)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib import coldstart
from course_lib.models import sasrec_text as st
from course_lib.recipes.text import train_variant
from course_lib.models.sasrec import SASRecConfig


def text_table(num_items: int = 12, dim: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(num_items + 1, dim)).astype(np.float32)
    table[0] = 0.0
    table[5] = table[4]                                  # items 4 and 5 have the same text
    return table


def config(num_items: int = 12, **kw) -> SASRecConfig:
    return SASRecConfig(num_items=num_items, max_len=6, hidden_dim=16, num_layers=1, dropout=0.0, **kw)


def test_text_mode_uses_only_text():
    torch.manual_seed(0)
    model = st.TextSASRec(config(), text_table(), mode="text").eval()
    table = model.item_table()
    assert table.shape == (13, 16) and torch.equal(table[0], torch.zeros(16))
    assert torch.equal(table[4], table[5])                         # same text -> same item vector
    scores = model.scores(torch.tensor([[0, 0, 1, 2, 3, 4]]))
    assert scores.shape == (1, 13) and scores[0, 0] == float("-inf") and scores[0, 4] == scores[0, 5]
    model.train()
    model.loss((torch.tensor([[0, 1, 2, 3, 6, 7]]), torch.tensor([[0, 2, 3, 6, 7, 8]]))).backward()
    assert model.gpt.wte.weight.grad is None and model.project.weight.grad is not None
    assert not model.text_emb.requires_grad                        # the text vectors are frozen


def test_fusion_sum_and_gate():
    torch.manual_seed(0)
    summed = st.TextSASRec(config(), text_table(), mode="fusion", fusion="sum")
    assert torch.allclose(summed.item_table(), summed.gpt.wte.weight + summed.text_table())
    gated = st.TextSASRec(config(), text_table(), mode="fusion", fusion="gate")
    ids, text, table = gated.gpt.wte.weight, gated.text_table(), gated.item_table()
    low, high = torch.minimum(ids, text), torch.maximum(ids, text)
    assert ((table >= low - 1e-6) & (table <= high + 1e-6)).all()   # a convex mix of the two, per coordinate
    gated.loss((torch.tensor([[0, 1, 2, 3, 6, 7]]), torch.tensor([[0, 2, 3, 6, 7, 8]]))).backward()
    assert gated.gate.weight.grad is not None and gated.gpt.wte.weight.grad is not None


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="mode"):
        st.TextSASRec(config(), text_table(), mode="image")
    with pytest.raises(ValueError, match="rows"):
        st.TextSASRec(config(num_items=20), text_table())
    with pytest.raises(ValueError, match="variant"):
        st.build_variant("llm", config())
    with pytest.raises(ValueError, match="needs text_emb"):
        st.build_variant("text", config())


def test_text_initialised_table_follows_the_text():
    torch.manual_seed(0)
    model = st.text_initialised_sasrec(config(num_items=30), text_table(num_items=30, dim=24))
    table = model.gpt.wte.weight.detach()
    assert torch.equal(table[4], table[5]) and torch.equal(table[0], torch.zeros(16))
    assert table[1:].std().item() == pytest.approx(0.02, rel=1e-3)
    assert table.requires_grad is False and model.gpt.wte.weight.requires_grad    # fine-tuned like any table
    small = st.text_initialised_sasrec(config(), text_table(dim=4)).gpt.wte.weight.detach()   # T=4 < D=16
    assert small[1:, :4].abs().sum() > 0 and small[:, 4:].abs().sum() == 0 and torch.equal(small[4], small[5])


def topic_log(num_users: int = 120, items_per_topic: int = 10, topics: int = 4, length: int = 8, seed: int = 0):
    """Each user watches items of one topic; item i's topic = (i - 1) // items_per_topic."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(num_users):
        topic = user % topics
        items = rng.choice(np.arange(items_per_topic), size=length, replace=False) + 1 + topic * items_per_topic
        rows += [(user, int(item), t) for t, item in enumerate(items)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def topic_text(split, items_per_topic: int) -> np.ndarray:
    """(N+1, 16) "text" vectors: item i's topic vector plus a little noise (row 0 = padding = 0)."""
    rng = np.random.default_rng(0)
    topic_vectors = rng.normal(size=(4, 16))
    return np.vstack([np.zeros(16)] + [topic_vectors[(split.item_ids[i] - 1) // items_per_topic]
                                       + 0.3 * rng.normal(size=16)
                                       for i in range(1, split.num_items + 1)]).astype(np.float32)


def small_settings(max_len: int) -> dict:
    """A one-layer SASRec recipe that trains on the topic logs in about a second."""
    return dict(max_len=max_len, hidden_dim=16, num_layers=1, dropout=0.1, num_epochs=15, eval_every=5,
                patience=10, progress=False)


def test_text_variant_recommends_cold_items_id_variant_cannot():
    cold = coldstart.cold_start_split(topic_log(), cold_fraction=0.2, seed=1)
    split = cold.split
    text, settings = topic_text(split, items_per_topic=10), small_settings(max_len=8)
    results = {}
    for variant in ("id", "text"):
        trained = train_variant(split, variant, seed=0, text_emb=text, **settings)["recommender"]
        results[variant] = coldstart.evaluate_by_group(trained, split, cold.item_groups(), part="test")
    assert results["text"].loc["cold", "users"] > 5
    assert results["text"].loc["cold", "hr@10"] >= 0.5
    assert results["text"].loc["cold", "hr@10"] > results["id"].loc["cold", "hr@10"] + 0.3


def test_masking_unseen_items_lets_the_fusion_variant_recommend_cold_items():
    """Full CE pushes a cold item's own ID vector down (it is a negative everywhere); the mask prevents that."""
    cold = coldstart.cold_start_split(topic_log(items_per_topic=25, length=10), cold_fraction=0.2, seed=1)
    split = cold.split
    text, settings = topic_text(split, items_per_topic=25), small_settings(max_len=10)
    results, models = {}, {}
    for mask in (False, True):
        result = train_variant(split, "fusion", seed=0, text_emb=text, mask_unseen=mask, **settings)
        models[mask] = result
        results[mask] = coldstart.evaluate_by_group(result["recommender"], split, cold.item_groups(), part="test")
    assert models[True]["model"] == "sasrec-fusion-masked" and models[False]["model"] == "sasrec-fusion"
    excluded = models[True]["recommender"].loss_excluded
    assert torch.equal(excluded, torch.from_numpy(split.train_item_counts() == 0) & (torch.arange(len(excluded)) > 0))
    assert results[True].loc["cold", "users"] > 5 and results[False].loc["cold", "hr@10"] < 0.1
    assert results[True].loc["cold", "hr@10"] > results[False].loc["cold", "hr@10"] + 0.2
