"""LoRA fine-tuning of a causal LM on item sequences, catalogue-constrained output (tiny random models only)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib import llm_finetune as F
from course_lib.llm import load_llm, save_tiny_llm, sequence_logprobs
from course_lib.metrics import evaluate
from course_lib.recipes.llm_finetune import FAST_OVERRIDES, subset_users, titles_for_split, train_llm_finetune

NUM_FILMS = 20
EXTRA_TITLES = ["film 1 extra", "film 10 extra", "film 3", "film  3", "other"]   # shared prefixes, duplicates


def film_titles(num: int = NUM_FILMS, extra: tuple = ()) -> np.ndarray:
    """(N+1,) titles "film 1" .. "film num" (+ ``extra``), entry 0 for padding."""
    return np.array([""] + [f"film {i}" for i in range(1, num + 1)] + list(extra), dtype=object)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A tiny random Llama (width 64) whose word-level vocabulary covers the prompt and every test title."""
    texts = [F.next_title_prompt(["a"]), *film_titles(extra=EXTRA_TITLES)[1:]]
    return save_tiny_llm(tmp_path_factory.mktemp("llm") / "tiny", texts, hidden_size=64)


@pytest.fixture
def tiny_lm(tiny_folder):
    """A fresh copy of the tiny LM (add_lora changes a model in place)."""
    return load_llm(str(tiny_folder), device="cpu")


def random_prompts(count: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [F.next_title_prompt([f"film {i}" for i in rng.integers(1, NUM_FILMS + 1, rng.integers(1, 6))])
            for _ in range(count)]


def test_trie_handles_shared_prefixes_and_duplicates(tiny_lm):
    titles = film_titles(extra=EXTRA_TITLES)                # "film 3" three times (two spellings)
    trie = F.TitleTrie(tiny_lm.tokenizer, titles)
    assert len(trie) == NUM_FILMS + 3                       # the three "film 3" share one token sequence
    ids = lambda text: tiny_lm.tokenizer(text, add_special_tokens=False)["input_ids"]   # noqa: E731
    after_one = trie.allowed(ids(" film 1"))
    assert trie.eos in after_one and ids(" extra")[0] in after_one      # "film 1" ends or goes on
    assert sorted(trie.lookup(ids(" film 3") + [trie.eos])) == [3, NUM_FILMS + 3, NUM_FILMS + 4]
    assert trie.lookup(ids(" film")) == [] and trie.allowed(ids(" other film")) == []


def test_constrained_beam_search_only_emits_catalogue_titles(tiny_lm, one_thread):
    titles = film_titles(extra=EXTRA_TITLES)
    trie = F.TitleTrie(tiny_lm.tokenizer, titles)
    results = F.constrained_beam_search(tiny_lm, random_prompts(24), trie, num_beams=8)
    assert len(results) == 24
    for beams in results:
        assert len(beams) == 8
        assert all(trie.lookup(tokens) for tokens, _ in beams)          # every sequence is a catalogue title
        scores = [score for _, score in beams]
        assert scores == sorted(scores, reverse=True) and np.isfinite(scores).all()
    everything = F.constrained_beam_search(tiny_lm, random_prompts(2, seed=1), trie, num_beams=50)
    assert [len(b) for b in everything] == [len(trie)] * 2                # more beams than titles: all of them
    assert all(trie.lookup(tokens) for beams in everything for tokens, _ in beams)


def test_recommender_scores_shape_padding_and_beam_order(tiny_lm):
    titles = film_titles(extra=EXTRA_TITLES)
    rec = F.FineTunedLLMRecommender(tiny_lm, titles, num_beams=5, max_titles=3)
    seqs = torch.tensor([[0, 0, 1, 2], [4, 5, 6, 7], [0, 3, 3, 9]])
    scores = rec.scores(seqs)
    assert scores.shape == (3, len(titles)) and torch.isneginf(scores[:, 0]).all()
    for row, beams in enumerate(rec.beam_items(rec.prompts(seqs))):
        found = [i for items, _ in beams for i in items]
        others = np.setdiff1d(np.arange(1, len(titles)), found)
        assert scores[row, found].min() > scores[row, others].max() == F.BASE_SCORE
        if NUM_FILMS + 3 in found:                                        # duplicate titles score alike
            assert scores[row, 3] == scores[row, NUM_FILMS + 3] == scores[row, NUM_FILMS + 4]
    assert "film 7" in rec.prompts(seqs)[1] and "film 4" not in rec.prompts(seqs)[1]     # last 3 titles only
    full = F.FineTunedLLMRecommender(tiny_lm, titles, mode="all").scores(seqs)
    assert torch.isfinite(full[:, 1:]).all() and torch.isneginf(full[:, 0]).all()


def test_score_all_titles_equals_direct_scoring(tiny_lm):
    titles = film_titles(extra=EXTRA_TITLES)
    prompts = random_prompts(2)
    fast = F.score_all_titles(tiny_lm, prompts, titles, chunk_size=7)       # shared prompt cache, chunks
    eos = tiny_lm.tokenizer.eos_token
    direct = sequence_logprobs(tiny_lm, [prompts[1]] * (len(titles) - 1), [f" {t} {eos}" for t in titles[1:]])
    assert fast.shape == (2, len(titles) - 1)
    np.testing.assert_allclose(fast[1], direct, atol=1e-5)
    subset = F.score_all_titles(tiny_lm, prompts, titles, item_ids=[5, 2])
    np.testing.assert_allclose(subset, fast[:, [4, 1]], atol=1e-5)


def test_labels_mask_the_prompt_and_end_with_eos(tiny_lm):
    tok = tiny_lm.tokenizer
    prompt = F.next_title_prompt(["film 1", "film 2"])
    ids, labels = F.encode_example(tok, prompt, " film 3")
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert labels[:n_prompt] == [F.IGNORE] * n_prompt
    target = tok(" film 3", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert labels[n_prompt:] == ids[n_prompt:] == target
    short = F.encode_example(tok, F.next_title_prompt(["film 1"]), " film 1 extra")
    batch = F.collate_left([(ids, labels), short], pad_id=tok.eos_token_id)       # pad == EOS must not count
    assert (batch["labels"] != F.IGNORE).sum() == 3 + 4                 # film, 3, EOS + film, 1, extra, EOS
    assert (batch["labels"][batch["attention_mask"] == 0] == F.IGNORE).all()
    ref = tiny_lm.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                        position_ids=batch["position_ids"], labels=batch["labels"]).loss
    assert torch.allclose(F.target_loss(tiny_lm.model, batch, tiny_lm.device), ref, atol=1e-6)


def test_next_title_examples(walks):
    split = walks(num_users=5, length=8, num_items=NUM_FILMS)
    titles = film_titles()
    examples = F.next_title_examples(split, titles, max_titles=3)
    assert len(examples) == sum(len(s) - 1 for s in split.train)
    prompt, target = examples[0]                                      # user 0's most recent example
    seq = split.train[0]
    assert target == f" {titles[seq[-1]]}"
    assert prompt == F.next_title_prompt([titles[i] for i in seq[-4:-1]])
    capped = F.next_title_examples(split, titles, max_titles=3, max_examples=5)
    assert [t for _, t in capped] == [f" {titles[s[-1]]}" for s in split.train]    # every user's latest
    with_valid = F.next_title_examples(split, titles, part="valid")
    assert len(with_valid) == len(examples) + split.num_users


def test_lora_trains_only_adapters(tiny_lm):
    lm = F.add_lora(tiny_lm, r=4)
    names = [n for n, p in lm.model.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    trainable, total, share = F.trainable_share(lm.model)
    assert trainable == sum(p.numel() for p in lm.model.parameters() if p.requires_grad) and 0 < share < 0.5


def test_finetune_learns_next_item_rule(tiny_lm, walks, one_thread):
    """Item i is always followed by item i+1: a few seconds of LoRA put the right title in the top 5."""
    split = walks(num_users=40, length=8, num_items=NUM_FILMS)
    titles = np.array([""] + [f"film {raw}" for raw in split.item_ids[1:]], dtype=object)
    with torch.no_grad():
        tiny_lm.model.lm_head.weight.mul_(10.0)        # a random 0.02-scale head cannot be confident: scale it
    lm = F.add_lora(tiny_lm, r=8, alpha=16, dropout=0.0)
    examples = F.next_title_examples(split, titles, max_titles=3)
    history = F.finetune(lm, examples, num_epochs=100, batch_size=16, lr=5e-3, max_steps=120)
    assert history["steps"] == 120 and history["stopped_by"] == "max_steps"
    losses = history["losses"]
    assert np.mean(losses[-10:]) < 0.3 * np.mean(losses[:5])
    rec = F.FineTunedLLMRecommender(lm, titles, num_beams=5, max_titles=3, batch_size=40)
    assert evaluate(rec, split, part="valid", max_len=3)["hr@5"] >= 0.8


def test_finetune_is_deterministic_and_respects_time_budget(tiny_folder, one_thread):
    examples = [(F.next_title_prompt([f"film {i}"]), f" film {i + 1}") for i in range(1, NUM_FILMS)]
    runs = [F.finetune(F.add_lora(load_llm(str(tiny_folder), device="cpu")), examples, batch_size=4, seed=3)
            for _ in range(2)]
    assert runs[0]["losses"] == runs[1]["losses"] and runs[0]["steps"] == 5 and runs[0]["stopped_by"] == "epochs"
    lm = F.add_lora(load_llm(str(tiny_folder), device="cpu"))
    timed = F.finetune(lm, examples, num_epochs=10_000, batch_size=4, time_budget_s=0.3)
    assert timed["stopped_by"] == "time_budget" and 1 <= timed["steps"] < 5 * 10_000
    assert timed["seconds"] < 3.0 and 3 * timed["steps"] <= timed["examples_seen"] <= 4 * timed["steps"]


def test_recipe_fast_on_a_tiny_model(tiny_folder, walks, one_thread):
    split = walks(num_users=12, length=6, num_items=NUM_FILMS)
    titles = np.array([""] + [f"film {raw}" for raw in split.item_ids[1:]], dtype=object)
    lm = load_llm(str(tiny_folder), device="cpu")
    result = train_llm_finetune(split, seed=0, fast=True, titles=titles, lm=lm, max_steps=3, valid_users=5,
                                num_beams=4, lr=1e-3)
    assert result["model"] == "llm-finetune" and result["params"]["steps"] == 3
    assert result["history"]["valid_users"] == 5 and 0 <= result["valid"]["ndcg@10"] <= 1
    assert 0 < result["params"]["trainable_share"] < 1 and result["params"]["max_len"] == FAST_OVERRIDES["max_titles"]
    scores = result["recommender"].scores(torch.from_numpy(split.train[0][None, :]))
    assert scores.shape == (1, split.num_items + 1)
    sub = subset_users(split, np.array([3, 1]))
    assert sub.num_users == 2 and sub.valid_targets.tolist() == split.valid_targets[[3, 1]].tolist()


def test_titles_for_split_aligns_and_checks(walks):
    split = walks(num_users=5, length=6, num_items=NUM_FILMS)
    items = pd.DataFrame({"item_id": np.arange(1, NUM_FILMS + 1), "title": [f"t{i}" for i in range(1, NUM_FILMS + 1)]})
    titles = titles_for_split(split, items)
    assert titles[0] == "" and list(titles[1:]) == [f"t{raw}" for raw in split.item_ids[1:]]
    with pytest.raises(ValueError, match="no title"):
        titles_for_split(split, items.iloc[:3])


def test_bad_input_is_a_clear_value_error(tiny_lm, walks):
    split = walks(num_users=5, length=6, num_items=NUM_FILMS)
    with pytest.raises(ValueError, match="titles has"):
        F.next_title_examples(split, film_titles(num=3))
    with pytest.raises(ValueError, match="max_titles"):
        F.next_title_examples(split, film_titles(num=split.num_items), max_titles=0)
    with pytest.raises(ValueError, match="num_beams"):
        F.FineTunedLLMRecommender(tiny_lm, film_titles(), num_beams=0)
    with pytest.raises(ValueError, match="mode"):
        F.FineTunedLLMRecommender(tiny_lm, film_titles(), mode="greedy")
    with pytest.raises(ValueError, match="examples is empty"):
        F.finetune(tiny_lm, [])
    with pytest.raises(ValueError, match="add_lora"):
        F.finetune(dataclasses.replace(tiny_lm, model=tiny_lm.model.requires_grad_(False)), [("a", " b")])
    with pytest.raises(ValueError, match="outside"):
        F.FineTunedLLMRecommender(tiny_lm, film_titles(), num_beams=2).scores(torch.tensor([[0, 99]]))
    with pytest.raises(ValueError, match="item_ids"):
        F.score_all_titles(tiny_lm, ["a"], film_titles(), item_ids=[0])
