"""Catalogue-constrained output of a causal LM: a prefix trie over the titles, constrained beam search, exact
likelihoods of every title, and the recommender built on them (notebook 10; trained by ``course_lib.llm_finetune``).

A free LM may answer with a film that does not exist. Two exact remedies:

- ``"beam"``: a prefix trie over the tokenised titles (``TitleTrie``) tells ``generate`` which tokens may come
  next (``prefix_allowed_tokens_fn``, as in GENRE, De Cao et al., ICLR 2021); beam search with K beams returns
  K catalogue titles. Cost per prompt: the P prompt tokens once, then up to T steps of K tokens (T = the
  longest title's tokens + 1; 30 for ML-100k with SmolLM2's tokenizer). Measured with SmolLM2-135M, 20 beams,
  10-title prompts, on a 2-core CPU shared with other jobs: about 30 s per user.
- ``"all"``: the likelihood of every title (``score_all_titles``): P + M (T + 1) tokens per prompt for M titles,
  the prompt's key/value cache shared by all titles; exact for the whole catalogue but M times a title's cost.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np
import torch

from course_lib.llm import CONTEXT_FREE_PROMPT, HISTORY_CUE, LLM, history_prompt, truncate_left

PROMPT = HISTORY_CUE + " {history}. " + CONTEXT_FREE_PROMPT    # the shared prompt (llm.history_prompt)
IGNORE = -100                      # the label of tokens that do not count in a loss
BASE_SCORE = -1e9                  # items outside the beams: below every beam, finite so ranks stay defined
MODES = ("beam", "all")
EARLY_STOPPING = False             # True stops once K beams ended, counting beams that ran out of titles
DEAD_BEAM = -1e6                   # beam scores below this are generate's "could not continue" marks


def next_title_prompt(history_titles: list[str]) -> str:
    """The next-title prompt for titles watched oldest first: ``llm.history_prompt`` over all of them."""
    return history_prompt(history_titles, max_titles=max(1, len(history_titles)))


def check_titles(titles, num_items: int | None = None) -> np.ndarray:
    """``titles`` as an (N+1,) object array aligned with internal ids (entry 0 = padding, unused)."""
    titles = np.asarray(titles, dtype=object)
    if titles.ndim != 1 or len(titles) < 2:
        raise ValueError(f"titles must be a 1-D (N+1,) array with entry 0 for padding, got shape {titles.shape}")
    if num_items is not None and len(titles) != num_items + 1:
        raise ValueError(f"titles has {len(titles)} entries but the split has {num_items} items: expected "
                         f"{num_items + 1} (N+1, aligned with split.item_ids, entry 0 = padding)")
    return titles


def collate_left(rows: list[tuple[list, list]], pad_id: int) -> dict:
    """Left-padded batch: ``input_ids``, ``attention_mask``, ``position_ids``, ``labels`` (B, W) LongTensors.
    Padding has attention 0 and label -100 (never counted, even when the pad token is also EOS)."""
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full_like(ids, IGNORE)
    mask = torch.zeros_like(ids)
    for row, (tokens, targets) in enumerate(rows):
        ids[row, width - len(tokens):] = torch.tensor(tokens)
        labels[row, width - len(tokens):] = torch.tensor(targets)
        mask[row, width - len(tokens):] = 1
    return {"input_ids": ids, "attention_mask": mask, "position_ids": (mask.cumsum(1) - 1).clamp(min=0),
            "labels": labels}



class TitleTrie:
    """A prefix trie over the tokenised catalogue titles: each ``" " + title`` followed by EOS.

    ``titles``: (N+1,) aligned with internal ids (entry 0 = padding, left out) or use ``item_ids`` to choose.
    Titles that tokenise identically share one path; ``lookup`` returns all their items.
    """

    def __init__(self, tokenizer, titles, item_ids=None):
        titles = check_titles(titles)
        item_ids = range(1, len(titles)) if item_ids is None else item_ids
        self.eos = int(tokenizer.eos_token_id)
        self.items: dict[tuple, list[int]] = {}
        children: dict[tuple, set] = {}
        for item in item_ids:
            key = tuple(tokenizer(" " + str(titles[item]), add_special_tokens=False)["input_ids"]) + (self.eos,)
            self.items.setdefault(key, []).append(int(item))
            for depth in range(len(key)):
                children.setdefault(key[:depth], set()).add(key[depth])
        if not self.items:
            raise ValueError("no titles to build a trie from")
        self._allowed = {prefix: sorted(tokens) for prefix, tokens in children.items()}
        self.max_length = max(len(key) for key in self.items)

    def __len__(self) -> int:
        """Distinct token sequences (catalogue titles up to identical tokenisation)."""
        return len(self.items)

    def allowed(self, prefix_token_ids) -> list[int]:
        """The tokens that may follow ``prefix_token_ids`` (generated so far) on the way to a title; [] if none."""
        return self._allowed.get(tuple(int(t) for t in prefix_token_ids), [])

    def lookup(self, token_ids) -> list[int]:
        """The item ids whose title is ``token_ids`` up to its first EOS ([] if not a catalogue title)."""
        tokens = [int(t) for t in token_ids]
        end = tokens.index(self.eos) + 1 if self.eos in tokens else len(tokens)
        return list(self.items.get(tuple(tokens[:end]), []))


def _prompt_batch(lm: LLM, prompts: list[str], max_prompt_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded prompt token ids and attention mask, both (B, P), on ``lm.device``."""
    rows = [truncate_left(lm.tokenizer(p, add_special_tokens=False)["input_ids"], max_prompt_tokens)
            for p in prompts]
    batch = collate_left([(r, r) for r in rows], lm.tokenizer.pad_token_id)
    return batch["input_ids"].to(lm.device), batch["attention_mask"].to(lm.device)


def _cache_argument(model: torch.nn.Module) -> str:
    """The name under which ``model``'s forward takes a key/value cache ("cache" from transformers 5.24 on)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def _prompt_cache(lm: LLM, ids: torch.Tensor, mask: torch.Tensor, copies: int) -> dict:
    """The key/value cache of all prompt tokens but the last, each row repeated ``copies`` times (one per beam),
    as a keyword argument for ``generate``: the prompt is read once, not once per beam (P, not K P, tokens)."""
    if ids.shape[1] < 2:
        return {}
    out = lm.model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1],
                   position_ids=(mask[:, :-1].cumsum(1) - 1).clamp(min=0), use_cache=True)
    cache = out.get("cache") if out.get("cache") is not None else out.get("past_key_values")
    cache.batch_repeat_interleave(copies)
    return {_cache_argument(lm.model): cache}


@torch.no_grad()
def constrained_beam_search(lm: LLM, prompts: list[str], trie: TitleTrie, num_beams: int = 20,
                            max_prompt_tokens: int = 384) -> list[list[tuple[tuple[int, ...], float]]]:
    """Per prompt, up to K = min(num_beams, len(trie)) distinct generated titles, best first: (tokens up to and
    with EOS, beam score = mean log-probability per generated token). Every token is one the trie allows, so
    every sequence is a catalogue title. The prompt is read once (its cache is copied to the K beams); beams
    continue until none can improve on the K found (``early_stopping=False``), at most ``trie.max_length`` steps;
    beams that ran out of titles (generate scores them about -1e9) are dropped."""
    from transformers import GenerationConfig

    if num_beams < 1:
        raise ValueError(f"num_beams must be >= 1, got {num_beams}")
    k = min(num_beams, len(trie))
    ids, mask = _prompt_batch(lm, prompts, max_prompt_tokens)
    width = ids.shape[1]

    def allowed(batch_id: int, input_ids: torch.Tensor) -> list[int]:
        return trie.allowed(input_ids[width:].tolist()) or [trie.eos]       # a dead beam ends at once

    config = GenerationConfig(num_beams=max(k, 2), num_return_sequences=k, max_new_tokens=trie.max_length,
                              do_sample=False, early_stopping=EARLY_STOPPING, length_penalty=1.0,
                              return_dict_in_generate=True, output_scores=True,
                              pad_token_id=lm.tokenizer.pad_token_id, eos_token_id=trie.eos)
    out = lm.model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                            prefix_allowed_tokens_fn=allowed, **_prompt_cache(lm, ids, mask, max(k, 2)))
    tokens, scores = out.sequences[:, width:].cpu().tolist(), out.sequences_scores.float().cpu().tolist()
    results = []
    for row in range(len(prompts)):
        beams = {}
        for seq, score in zip(tokens[row * k:(row + 1) * k], scores[row * k:(row + 1) * k]):
            seq = tuple(seq[:seq.index(trie.eos) + 1] if trie.eos in seq else seq)
            if score > DEAD_BEAM and seq not in beams:          # generate marks beams that ran out with -1e9
                beams[seq] = float(score)
        results.append(list(beams.items()))
    return results


@torch.no_grad()
def score_all_titles(lm: LLM, prompts: list[str], titles, item_ids=None, chunk_size: int = 64,
                     max_prompt_tokens: int = 384) -> np.ndarray:
    """(B, M) mean log-probability per token of ``" " + title`` + EOS given each prompt, for the M items
    ``item_ids`` (default: all 1..N of the (N+1,) ``titles``). Exact for every title, hence costly: per prompt
    one pass over the prompt (its key/value cache is then shared) plus M (T+1) title tokens in chunks of
    ``chunk_size`` titles; with SmolLM2-135M and the 1,682 ML-100k titles about 20 k tokens per prompt."""
    titles = check_titles(titles)
    item_ids = np.arange(1, len(titles)) if item_ids is None else np.asarray(item_ids, dtype=np.int64)
    if item_ids.ndim != 1 or len(item_ids) == 0 or item_ids.min() < 1 or item_ids.max() >= len(titles):
        raise ValueError(f"item_ids must be a non-empty 1-D array of ids in 1..{len(titles) - 1}")
    tok = lm.tokenizer
    conts = [tok(" " + str(titles[i]), add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for i in item_ids]
    out = np.empty((len(prompts), len(conts)))
    for row, prompt in enumerate(prompts):
        ids, _ = _prompt_batch(lm, [prompt], max_prompt_tokens)                       # (1, P)
        first = lm.model(input_ids=ids, use_cache=True)
        cache = first.get("cache") if first.get("cache") is not None else first.get("past_key_values")
        last = torch.log_softmax(first.logits[0, -1].float(), -1)                     # (V,) next-token log-probs
        for start in range(0, len(conts), chunk_size):
            out[row, start:start + chunk_size] = _score_chunk(lm, cache, last, conts[start:start + chunk_size])
    return out


def _score_chunk(lm: LLM, cache, last: torch.Tensor, conts: list[list[int]]) -> np.ndarray:
    """(C,) mean log-probs of C continuations after a prompt whose cache (batch 1) and last log-probs are given."""
    lengths = torch.tensor([len(c) for c in conts])
    ids = torch.full((len(conts), int(lengths.max())), lm.tokenizer.pad_token_id, dtype=torch.long)
    for row, cont in enumerate(conts):
        ids[row, :len(cont)] = torch.tensor(cont)                                  # (C, T) right padding
    mask = (torch.arange(ids.shape[1]) < lengths[:, None]).long()
    cache = copy.deepcopy(cache)
    cache.batch_repeat_interleave(len(conts))
    prompt_mask = torch.ones(len(conts), cache.get_seq_length(), dtype=torch.long)
    logits = lm.model(input_ids=ids.to(lm.device), attention_mask=torch.cat([prompt_mask, mask], 1).to(lm.device),
                      **{_cache_argument(lm.model): cache}).logits.float()        # (C, T, V)
    logp = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None].to(lm.device))[..., 0].cpu()
    logp = torch.cat([last.cpu()[ids[:, 0]][:, None], logp], 1)                    # (C, T)
    return ((logp * mask).sum(1) / lengths).numpy()


class FineTunedLLMRecommender:
    """Recommend with a (fine-tuned) causal LM: ``scores(seqs (B, L)) -> (B, N+1)``, column 0 = -inf.

    ``mode="beam"``: the K = ``num_beams`` titles found by constrained beam search score their beam score
    (mean log-probability per token, so scores fall with the beam rank); every other item gets ``BASE_SCORE``,
    finite and below all beams (a target outside the beams then ties with them and, ties counting against the
    target, ranks last). Beam results are cached per prompt (the test protocol scores each history twice).
    ``mode="all"``: ``score_all_titles`` for every item (exact, M times costlier). The prompt lists the last
    ``max_titles`` history items; history items are NOT removed (the evaluator excludes them).
    ``batch_size``: prompts per ``generate`` call (each takes K rows).
    """

    def __init__(self, lm: LLM, titles, num_beams: int = 20, max_titles: int = 10, mode: str = "beam",
                 batch_size: int = 4, max_prompt_tokens: int = 384):
        if mode not in MODES:
            raise ValueError(f"mode={mode!r}: expected one of {MODES}")
        if num_beams < 1 or max_titles < 1 or batch_size < 1:
            raise ValueError(f"num_beams, max_titles and batch_size must be >= 1; got {num_beams}, {max_titles}, "
                             f"{batch_size}")
        self.lm, self.titles, self.mode = lm, check_titles(titles), mode
        self.num_beams, self.max_titles, self.batch_size = num_beams, max_titles, batch_size
        self.max_prompt_tokens = max_prompt_tokens
        self.num_items = len(self.titles) - 1
        self.trie = TitleTrie(lm.tokenizer, self.titles) if mode == "beam" else None
        self._beams: dict[str, list[tuple[list[int], float]]] = {}

    def prompts(self, seqs) -> list[str]:
        """One prompt per row of ``seqs`` (B, L) (left-padded internal ids; zeros ignored)."""
        seqs = torch.as_tensor(seqs).cpu()
        if seqs.dim() != 2:
            raise ValueError(f"seqs must be (B, L), got shape {tuple(seqs.shape)}")
        if seqs.numel() and (seqs.min() < 0 or seqs.max() > self.num_items):
            raise ValueError(f"seqs holds ids outside 0..{self.num_items}")
        return [next_title_prompt([str(self.titles[i]) for i in row[row > 0].tolist()[-self.max_titles:]])
                for row in seqs]

    def beam_items(self, prompts: list[str]) -> list[list[tuple[list[int], float]]]:
        """Per prompt, [(item ids of one generated title, beam score)], best first (cached per prompt)."""
        missing = list(dict.fromkeys(p for p in prompts if p not in self._beams))
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start:start + self.batch_size]
            found = constrained_beam_search(self.lm, chunk, self.trie, self.num_beams, self.max_prompt_tokens)
            for prompt, beams in zip(chunk, found):
                self._beams[prompt] = [(self.trie.lookup(tokens), score) for tokens, score in beams]
        return [self._beams[p] for p in prompts]

    @torch.no_grad()
    def scores(self, seqs) -> torch.Tensor:
        """(B, N+1) float32 CPU scores for histories ``seqs`` (B, L); column 0 (padding) is -inf."""
        prompts = self.prompts(seqs)
        out = torch.full((len(prompts), self.num_items + 1), BASE_SCORE, dtype=torch.float32)
        if self.mode == "all":
            out[:, 1:] = torch.from_numpy(score_all_titles(self.lm, prompts, self.titles,
                                                           max_prompt_tokens=self.max_prompt_tokens))
        else:
            for row, beams in enumerate(self.beam_items(prompts)):
                for items, score in beams:
                    out[row, items] = torch.maximum(out[row, items], torch.tensor(score))
        out[:, 0] = float("-inf")
        return out
