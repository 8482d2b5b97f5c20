"""Tests of the LLM re-ranker (course_lib.llm_rerank) and its recipe (course_lib.recipes.llm), on a tiny random LLM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib import llm_rerank as lr
from course_lib.llm import load_llm, save_tiny_llm, sequence_logprobs
from course_lib.metrics import evaluation_ranks, per_user, target_ranks
from course_lib.models.popularity import PopularityRecommender
from course_lib.recipes.llm import movielens_titles, short_title, train_llm_rerank
from course_lib.sequences import pad_left

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma", "theta"]
NUM_ITEMS = 40                                           # tiny_split's catalogue


def made_up_titles(num_items: int = NUM_ITEMS) -> np.ndarray:
    """(N+1,) titles of 1 to 3 words (different token counts), entry 0 for padding."""
    return np.array([""] + [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(1 + i % 3)) + f" {i}"
                            for i in range(1, num_items + 1)], dtype=object)


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    titles = list(made_up_titles()[1:])
    texts = [lr.history_prompt(titles, max_titles=len(titles)), lr.listing_prompt(lr.CONTEXT_FREE_PROMPT, titles)]
    return load_llm(save_tiny_llm(tmp_path_factory.mktemp("tiny-llm"), texts), device="cpu")


class FixedBase:
    """A base model with distinct scores that depend on the last item: W[last item] (N+1 columns, column 0 -inf)."""

    def __init__(self, num_items: int = NUM_ITEMS, seed: int = 0):
        self.table = torch.from_numpy(np.random.default_rng(seed).normal(size=(num_items + 1, num_items + 1)))
        self.table[:, 0] = -torch.inf

    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        return self.table[seqs[:, -1]].clone()


class RecordingScorer(lr.TitleScorer):
    """A TitleScorer that records every (prompt, item) pair the LLM scores."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pairs = []

    def _llm_scores(self, pairs):
        self.pairs.extend(pairs)
        return super()._llm_scores(pairs)


def test_fast_path_equals_sequence_logprobs(tiny_lm, monkeypatch):
    monkeypatch.setattr(lr, "CHUNK_ROWS", 8)                           # several chunks of continuations
    titles = made_up_titles()
    prompts = [lr.history_prompt(titles[1:2]), lr.history_prompt(titles[3:12]), lr.CONTEXT_FREE_PROMPT]
    conts = [[" " + t for t in titles[1:13]], [" " + titles[5], " alpha"], [" " + t for t in titles[20:27]]]
    fast = np.concatenate(lr.prompt_cached_logprobs(tiny_lm, prompts, conts))        # 21 rows: three chunks
    slow = sequence_logprobs(tiny_lm, [p for p, c in zip(prompts, conts) for _ in c], [x for c in conts for x in c])
    assert fast.shape == (21,) and np.abs(fast - slow).max() < 1e-4
    sums = np.concatenate(lr.prompt_cached_logprobs(tiny_lm, prompts, conts, reduce="sum"))
    lengths = [len(tiny_lm.tokenizer(x, add_special_tokens=False)["input_ids"]) for c in conts for x in c]
    assert np.allclose(sums, slow * np.array(lengths), atol=1e-4)
    items = [np.arange(1, 13), np.array([5, 7])]
    fast_scorer = lr.TitleScorer(tiny_lm, titles, batch_size=5)                  # several prompt batches
    slow_scorer = lr.TitleScorer(tiny_lm, titles, fast=False)
    for a, b in zip(fast_scorer.calibrated(prompts[:2], items), slow_scorer.calibrated(prompts[:2], items)):
        assert np.abs(a - b).max() < 1e-4


def test_calibration_and_caches(tiny_lm):
    scorer = RecordingScorer(tiny_lm, made_up_titles(), batch_size=4)
    prompts = [lr.history_prompt(["alpha 1", "beta 2"]), lr.history_prompt(["gamma 3"])]
    items = [np.array([4, 5, 6]), np.array([5, 6, 7, 8])]
    calibrated = scorer.calibrated(prompts, items)
    conditional, free = scorer.conditional(prompts, items), [scorer.context_free(i) for i in items]
    for c, k, f in zip(calibrated, conditional, free):
        assert np.allclose(c, k - f)
    scorer.calibrated(prompts[::-1], items)                            # new (prompt, item) pairs, no new items
    free_pairs = [p for p in scorer.pairs if p[0] == lr.CONTEXT_FREE_PROMPT]
    assert sorted(i for _, i in free_pairs) == [4, 5, 6, 7, 8]        # once per item, ever
    assert len(scorer.pairs) == len(set(scorer.pairs)) == scorer.pairs_scored == 5 + 7 + 3   # only new pairs
    with pytest.raises(ValueError, match="padding"):
        scorer.conditional(prompts[:1], [np.array([0, 1])])


def test_history_prompt_keeps_the_most_recent_titles():
    prompt = lr.history_prompt(["Old", "Middle", "Recent", "Latest"], max_titles=2)
    assert "Recent; Latest" in prompt and "Old" not in prompt and "Middle" not in prompt
    assert prompt.endswith(lr.CONTEXT_FREE_PROMPT) and lr.history_prompt([]) == lr.CONTEXT_FREE_PROMPT
    with pytest.raises(ValueError, match="max_titles"):
        lr.history_prompt(["A"], max_titles=0)


def test_reranker_prompt_truncates_oldest(tiny_lm):
    scorer = RecordingScorer(tiny_lm, made_up_titles())
    reranker = lr.LLMReranker(FixedBase(), scorer, num_candidates=3, weight=1.0, max_titles=2)
    reranker.scores(torch.tensor([[0, 1, 2, 3, 4]]))
    prompt = next(p for p, _ in scorer.pairs if p != lr.CONTEXT_FREE_PROMPT)
    titles = made_up_titles()
    assert f"{titles[3]}; {titles[4]}." in prompt and titles[2] not in prompt


def test_reranking_never_sees_the_target(tiny_lm, monkeypatch):
    base, k = FixedBase(), 5
    seqs = torch.tensor([[0, 0, 3, 9, 12], [7, 1, 2, 30, 31]])
    base_scores = base.scores(seqs).clone()
    base_scores.scatter_(1, seqs, -torch.inf)
    targets = [int(torch.argsort(row, descending=True)[k + 3]) for row in base_scores]   # outside the top k
    asked = []

    def adoring(prompts, items):                                      # an LLM in love with the targets
        asked.extend(items)
        return [np.where(np.isin(ids, targets), 1e6, 0.0) for ids in items]

    scorer = lr.TitleScorer(tiny_lm, made_up_titles())
    monkeypatch.setattr(scorer, "calibrated", adoring)
    scores = lr.LLMReranker(base, scorer, num_candidates=k, weight=1.0).scores(seqs)
    assert np.all(target_ranks(scores, targets, [s[s > 0] for s in seqs]) > k)
    assert [len(ids) for ids in asked] == [k, k] and not set(targets) & set(np.concatenate(asked).tolist())
    for ids, seq in zip(asked, seqs.tolist()):                        # no padding, no history
        assert 0 not in ids and not set(ids.tolist()) & set(seq)
    shown = torch.topk(scores, k).indices
    for row in range(2):                                              # the top k are the base model's candidates
        assert set(shown[row].tolist()) == set(torch.topk(base_scores[row], k).indices.tolist())
    untouched = scores.clone()
    untouched.scatter_(1, shown, 0.0)
    expected = base.scores(seqs).double()
    expected.scatter_(1, shown, 0.0)
    assert torch.equal(untouched, expected)                           # every other item keeps its base score


def test_weight_zero_reproduces_the_base_ranking(tiny_lm, tiny_split):
    scorer = RecordingScorer(tiny_lm, made_up_titles())
    reranker = lr.LLMReranker(FixedBase(), scorer, num_candidates=7, weight=0.0)
    for part in ("valid", "test"):
        base_ranks = evaluation_ranks(FixedBase(), tiny_split, part)
        assert np.array_equal(evaluation_ranks(reranker, tiny_split, part), base_ranks)
    assert scorer.pairs == []                                         # weight 0 never runs the LLM


def test_choose_weight_uses_validation_only(tiny_lm, tiny_split, monkeypatch):
    split = tiny_split
    monkeypatch.setattr(split, "test_targets", np.full(split.num_users, -5))   # would break any use of test
    real_histories = split.histories
    monkeypatch.setattr(split, "histories", lambda part: real_histories(part) if part == "valid" else 1 / 0)
    scorer = RecordingScorer(tiny_lm, made_up_titles())
    reranker = lr.LLMReranker(FixedBase(), scorer, num_candidates=4, weight=0.5)
    users = np.arange(0, 60, 3)
    best, grid = lr.choose_weight(reranker, split, users=users)
    assert set(grid) == set(lr.WEIGHT_GRID) and best in grid and grid[best] == max(grid.values())
    assert reranker.weight == 0.5                                     # left unchanged
    conditional = [p for p in scorer.pairs if p[0] != lr.CONTEXT_FREE_PROMPT]
    prompts = {lr.history_prompt(made_up_titles()[split.train[u]]) for u in users}    # users may share a prompt
    assert len(scorer.pairs) == len(set(scorer.pairs)) and len(conditional) == len(prompts) * 4
    histories, targets = split.histories("valid"), split.valid_targets
    for w in (0.0, 1.0):                                              # the grid's numbers, recomputed by hand
        reranker.weight = w
        scores = reranker.scores(pad_left([histories[u] for u in users], 50))
        ranks = target_ranks(scores, targets[users], [histories[u] for u in users])
        assert np.isclose(per_user(ranks, "ndcg@10").mean(), grid[w])
    assert len(scorer.pairs) == len(set(scorer.pairs))                # no (prompt, item) scored twice
    with pytest.raises(ValueError, match="grid"):
        lr.choose_weight(reranker, split, grid=(0.0, 2.0))


def test_position_bias_table(tiny_lm):
    titles = made_up_titles()
    prompts = [lr.history_prompt(titles[i:i + 3]) for i in range(1, 7)]
    candidates = [list(titles[i + 5:i + 9]) for i in range(1, 7)]
    table = lr.position_bias(tiny_lm, candidates, prompts)
    assert isinstance(table, pd.DataFrame) and list(table.index) == [1, 2, 3, 4]
    assert np.allclose(table[["original", "reversed", "pooled"]].sum(), 1.0)
    assert 0.0 <= table.attrs["consistent"] <= 1.0
    assert "1. " + candidates[0][0] in lr.listing_prompt(prompts[0], candidates[0])


def test_zero_shot_sampled(tiny_lm, tiny_split, capsys):
    scorer = RecordingScorer(tiny_lm, made_up_titles())
    users = np.arange(5)
    ranks = lr.zero_shot_sampled(scorer, tiny_split, "test", num_negatives=6, users=users, seed=1)
    assert "NOT comparable" in capsys.readouterr().out
    assert ranks.shape == (5,) and ranks.min() >= 1 and ranks.max() <= 7
    histories, targets = tiny_split.histories("test"), tiny_split.test_targets
    for u in users:                                                   # negatives: unseen, never the target
        items = [i for p, i in scorer.pairs if p == lr.history_prompt(made_up_titles()[histories[u]])]
        assert len(items) == 7 and targets[u] in items
        assert not set(items) & set(histories[u].tolist()) and len(set(items)) == 7
    again = lr.zero_shot_sampled(scorer, tiny_split, "test", num_negatives=6, users=users, seed=1)
    assert np.array_equal(ranks, again)


def test_recipe_end_to_end(tiny_lm, tiny_split):
    base = PopularityRecommender().fit(tiny_split)
    result = train_llm_rerank(tiny_split, seed=0, fast=True, titles=made_up_titles(), lm=tiny_lm, base=base,
                              num_candidates=5, users_for_choice=np.arange(20))
    for key in ("model", "valid", "epochs", "epochs_to_best", "seconds_per_epoch", "total_seconds",
                "seconds_to_best", "history", "params", "recommender"):
        assert key in result
    params, reranker = result["params"], result["recommender"]
    assert result["model"] == "llm-rerank" and isinstance(reranker, lr.LLMReranker)
    assert params["weight"] == reranker.weight and params["num_candidates"] == 5 and params["valid_users"] == 20
    assert params["llm"] == tiny_lm.name and params["max_titles"] == 10 and len(params["valid_grid"]) == 5
    assert np.isclose(result["valid"]["ndcg@10"], params["valid_grid"][f"{reranker.weight:g}"])
    ranks = evaluation_ranks(reranker, tiny_split, "test")
    assert ranks.shape == (tiny_split.num_users,) and ranks.min() >= 1


def test_bad_input(tiny_lm, tiny_split, monkeypatch):
    base, titles = PopularityRecommender().fit(tiny_split), made_up_titles()
    with pytest.raises(ValueError, match="titles"):
        train_llm_rerank(tiny_split, seed=0, fast=True, titles=titles[:-1], lm=tiny_lm, base=base)
    with pytest.raises(ValueError, match="num_candidates"):
        train_llm_rerank(tiny_split, seed=0, fast=True, titles=titles, lm=tiny_lm, base=base, num_candidates=0)
    scorer = lr.TitleScorer(tiny_lm, titles)
    for weight in (-0.1, 1.5):
        with pytest.raises(ValueError, match="weight"):
            lr.LLMReranker(base, scorer, weight=weight)
    with pytest.raises(ValueError, match="num_candidates"):
        lr.LLMReranker(base, scorer, num_candidates=0)
    with pytest.raises(ValueError, match="no title"):
        lr.TitleScorer(tiny_lm, np.array(["", "a", ""], dtype=object))
    with pytest.raises(ValueError, match="titles"):                   # base scores vs titles of another catalogue
        lr.LLMReranker(base, lr.TitleScorer(tiny_lm, titles[:10])).scores(torch.tensor([[1, 2]]))
    items = pd.DataFrame({"item_id": np.arange(1, 31), "title": [f"t{i}" for i in range(1, 31)]})
    monkeypatch.setattr("course_lib.data.load_movielens", lambda name: type("D", (), {"items": items}))
    with pytest.raises(ValueError, match="no title"):
        movielens_titles(tiny_split)                                  # raw ids 31..40 have no title


def test_recipe_trains_sasrec_when_no_base_is_given(tiny_lm, tiny_split, one_thread):
    result = train_llm_rerank(tiny_split, seed=0, fast=True, titles=made_up_titles(), lm=tiny_lm, num_candidates=3)
    assert result["params"]["base"] == "sasrec" and result["epochs"] >= 1 and result["history"]
    assert result["params"]["valid_users"] == tiny_split.num_users               # FAST: min(64, users)
    assert 0.0 <= result["valid"]["ndcg@10"] <= 1.0


def test_short_titles():
    assert short_title("Usual Suspects, The (1995)") == "The Usual Suspects"
    assert short_title("Room with a View, A (1986)") == "A Room with a View"
    assert short_title("Seven (Se7en) (1995)") == "Seven (Se7en)" and short_title("unknown") == "unknown"
