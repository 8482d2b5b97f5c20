"""LLM re-ranking of a recommender's top candidates, in the spirit of LLMRank (Hou et al., ECIR 2024)::

    scorer = TitleScorer(load_llm(), titles)              # titles (N+1,): titles[i] = item i's title
    reranker = LLMReranker(sasrec, scorer, num_candidates=20, weight=0.5)
    best, grid = choose_weight(reranker, split)           # on VALIDATION only
    evaluate(reranker, split)                             # full ranking: comparable with every other model

1. Candidates: the base model's top K items the user has not seen (never padding). The target is among them only if
   the base model put it there: it is never injected.
2. LLM score of candidate title c: its mean log-probability per token after a plain-text prompt of the user's recent
   titles (ranking never parses generated text), calibrated by the same score after the cue alone::

       s(c) = logp(" " + c | prompt) - logp(" " + c | "The next film they watch is:")

   The second term removes the model's prior for short or frequent titles (Zhao et al. 2021, "Calibrate before use").
3. Final score of a candidate: ``ceiling + OFFSET + (1 - w) z(base) + w z(s)``, z standardising within the user's K
   candidates and ``ceiling`` the row's largest finite base score, so every candidate ranks above every other item;
   the other items keep their base scores (below the top K the ranking is the base model's). w = 0 is the base
   model, w = 1 the LLM alone on the base model's candidates.

Speed: each prompt runs ONCE; its key/value cache is copied to one row per candidate and the candidates are scored in
batches (``prompt_cached_logprobs``, equal to ``course_lib.llm.sequence_logprobs``, the fallback). Candidates exclude
the items in ``seqs`` (the last ``max_len``): an older item, which the evaluator removes, can take a candidate slot.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np
import pandas as pd
import torch

from course_lib.llm import CONTEXT_FREE_PROMPT, LLM, history_prompt, sequence_logprobs, truncate_left
from course_lib.metrics import per_user, target_ranks
from course_lib.sequences import SplitData, pad_left

LISTING_CUE = "The best next film is number"
OFFSET = 1e4          # |z| <= sqrt(K) stays far below it: candidates sit strictly above the row's ceiling
FULL_HISTORY = 1024                # longer than any MovieLens-100k history (737): the re-ranker sees all of it
WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
CHUNK_ROWS = 32    # continuation rows per forward pass: similar lengths, little padding


def _forward(lm: LLM, cache=None, **inputs):
    """``lm.model(**inputs)`` with the KV cache under the keyword this transformers version uses."""
    name = "cache" if "cache" in inspect.signature(lm.model.forward).parameters else "past_key_values"
    out = lm.model(**{k: v.to(lm.device) if torch.is_tensor(v) else v for k, v in inputs.items()},
                   **({name: cache} if cache is not None else {}), use_cache=True)
    return out, out.cache if getattr(out, "cache", None) is not None else out.past_key_values


def _right_padded(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(R, W) token ids and (R, W) 0/1 mask of ``rows`` padded on the right (W >= 1)."""
    width = max(1, max(len(r) for r in rows))
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, :len(row)], mask[i, :len(row)] = torch.tensor(row, dtype=torch.long), 1
    return ids, mask


def _continuation_pass(lm: LLM, cache, prompt_mask: torch.Tensor, lengths: torch.Tensor, owner: torch.Tensor,
                       flat: list[list[int]]) -> torch.Tensor:
    """(R,) sum over tokens 2.. of each continuation's log-probability, reusing its prompt's KV ``cache``.

    Rows are sorted by length and run in chunks of ``CHUNK_ROWS`` so that little compute goes to padding; each chunk
    gets a copy of the cache with one row per continuation (its prompt's row), its tokens at positions n_i, n_i + 1..
    """
    total = torch.zeros(len(flat), dtype=torch.float64)
    order = [r for r in sorted(range(len(flat)), key=lambda r: len(flat[r])) if len(flat[r]) > 1]
    for start in range(0, len(order), CHUNK_ROWS):
        rows = torch.tensor(order[start:start + CHUNK_ROWS])
        chunk = copy.deepcopy(cache)
        chunk.batch_select_indices(owner[rows].to(lm.device))
        ids, mask = _right_padded([flat[r][:-1] for r in rows], lm.tokenizer.pad_token_id)    # (C, W)
        nexts, _ = _right_padded([flat[r][1:] for r in rows], 0)                               # tokens to score
        positions = lengths[owner[rows], None] + torch.arange(ids.shape[1])                   # after the prompt
        out, _ = _forward(lm, chunk, input_ids=ids, position_ids=positions,
                          attention_mask=torch.cat([prompt_mask[owner[rows]], mask], 1))
        logp = torch.log_softmax(out.logits.float(), -1).gather(-1, nexts.to(lm.device)[..., None])[..., 0]
        total[rows] = (logp.cpu() * mask).sum(1).double()
    return total


@torch.no_grad()
def prompt_cached_logprobs(lm: LLM, prompts: list[str], continuations: list[list[str]],
                           max_prompt_tokens: int = 384, reduce: str = "mean") -> list[np.ndarray]:
    """For each prompt i, (K_i,) log-probability of each of its continuations: mean per token (``"mean"``, as
    ``sequence_logprobs``) or total (``"sum"``). Each prompt runs ONCE (right-padded, positions 0..n_i-1, KV cache
    kept); its last logits score every continuation's first token, and the rest of each continuation runs on a copy
    of its prompt's cache (``_continuation_pass``). The same numbers as ``sequence_logprobs`` (to float rounding).
    """
    if len(prompts) != len(continuations) or reduce not in ("mean", "sum"):
        raise ValueError(f"{len(prompts)} prompts vs {len(continuations)} continuation lists; reduce={reduce!r}")
    encode = lambda text: lm.tokenizer(text, add_special_tokens=False)["input_ids"]      # noqa: E731
    prompt_ids = [truncate_left(encode(p), max_prompt_tokens) for p in prompts]
    flat = [encode(c) for conts in continuations for c in conts]
    if any(not p for p in prompt_ids) or any(not c for c in flat):
        raise ValueError("an empty prompt or continuation has no tokens to score")
    if not flat:
        return [np.zeros(0) for _ in prompts]
    lengths = torch.tensor([len(p) for p in prompt_ids])                                   # (P,)
    ids, prompt_mask = _right_padded(prompt_ids, lm.tokenizer.pad_token_id)               # (P, Wp)
    out, cache = _forward(lm, input_ids=ids, attention_mask=prompt_mask, position_ids=torch.arange(ids.shape[1])[None],
                          logits_to_keep=lengths - 1)                                    # logits (P, P, V)
    first = torch.log_softmax(out.logits.float().diagonal().T, -1).cpu()                 # (P, V): next-token log p
    owner = torch.tensor([i for i, conts in enumerate(continuations) for _ in conts], dtype=torch.long)   # (R,)
    total = first[owner, torch.tensor([c[0] for c in flat])].double()                    # (R,) first tokens
    total += _continuation_pass(lm, cache, prompt_mask, lengths, owner, flat)
    values = (total / torch.tensor([len(c) for c in flat]) if reduce == "mean" else total).numpy()
    return np.split(values, np.cumsum([len(c) for c in continuations])[:-1])


class TitleScorer:
    """Calibrated LLM scores of item titles, ``titles`` (N+1,) (entry 0 = padding, unused).

    ``conditional`` = logp(" " + title | prompt) (mean per token), cached per (prompt, item); ``context_free`` = the
    same after ``CONTEXT_FREE_PROMPT``, computed once per item; ``calibrated`` = their difference. ``batch_size``:
    (prompt, item) pairs per prompt pass (larger measured faster on one CPU thread: 256 vs 64, 0.17 vs 0.33 s per user
    of 20 candidates in bf16); ``fast=False`` scores with ``sequence_logprobs`` instead (same numbers).
    ``pairs_scored`` counts the pairs the LLM has scored.
    """

    def __init__(self, lm: LLM, titles, batch_size: int = 256, max_prompt_tokens: int = 384, fast: bool = True):
        titles = np.asarray(titles, dtype=object)
        if titles.ndim != 1 or len(titles) < 2:
            raise ValueError(f"titles must be 1-D (N+1,) with entry 0 for padding, got shape {titles.shape}")
        empty = [i for i, t in enumerate(titles[1:], 1) if not isinstance(t, str) or not t.strip()]
        if empty or batch_size < 1:
            raise ValueError(f"items {empty[:5]} have no title (need non-empty strings)" if empty
                             else f"batch_size must be >= 1, got {batch_size}")
        self.lm, self.titles, self.batch_size, self.fast = lm, titles, batch_size, fast
        self.max_prompt_tokens = max_prompt_tokens
        self.cache: dict[tuple[str, int], float] = {}
        self.context_free_cache: dict[int, float] = {}
        self.pairs_scored = 0

    def _items(self, items) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64).reshape(-1)
        if len(items) and (items.min() < 1 or items.max() >= len(self.titles)):
            raise ValueError(f"item ids must lie in 1..{len(self.titles) - 1} (0 is padding), got {items}")
        return items

    def _llm_scores(self, pairs: list[tuple[str, int]]) -> np.ndarray:
        """(len(pairs),) logp(" " + title | prompt) of each (prompt, item) pair: the only place the LLM runs."""
        self.pairs_scored += len(pairs)
        conts = [" " + self.titles[item] for _, item in pairs]
        if not self.fast:
            return sequence_logprobs(self.lm, [p for p, _ in pairs], conts, self.batch_size, self.max_prompt_tokens)
        groups: dict[str, list[int]] = {}
        for index, (prompt, _) in enumerate(pairs):
            groups.setdefault(prompt, []).append(index)
        units = [g[s:s + self.batch_size] for p, g in sorted(groups.items(), key=lambda kv: len(kv[0]))
                 for s in range(0, len(g), self.batch_size)]         # similar prompt lengths batch together
        out, batch = np.zeros(len(pairs)), []
        for unit in units + [None]:                  # pack whole prompts into batches of <= batch_size pairs
            if batch and (unit is None or sum(map(len, batch)) + len(unit) > self.batch_size):
                values = prompt_cached_logprobs(self.lm, [pairs[u[0]][0] for u in batch],
                                                [[conts[i] for i in u] for u in batch], self.max_prompt_tokens)
                for u, v in zip(batch, values):
                    out[u] = v
                batch = []
            batch.append(unit)
        return out

    def conditional(self, prompts: list[str], items: list) -> list[np.ndarray]:
        """For each prompt, (K,) logp(" " + title | prompt) of its ``items`` (K,) internal ids (cached)."""
        items = [self._items(ids) for ids in items]
        todo = list(dict.fromkeys((p, int(i)) for p, ids in zip(prompts, items) for i in ids
                                  if (p, int(i)) not in self.cache))
        if todo:
            self.cache.update(zip(todo, self._llm_scores(todo).tolist()))
        return [np.array([self.cache[(p, int(i))] for i in ids]) for p, ids in zip(prompts, items)]

    def context_free(self, items) -> np.ndarray:
        """(K,) logp(" " + title | CONTEXT_FREE_PROMPT) of ``items`` (K,), each item scored once ever."""
        items = self._items(items)
        todo = list(dict.fromkeys(int(i) for i in items if int(i) not in self.context_free_cache))
        if todo:
            values = self._llm_scores([(CONTEXT_FREE_PROMPT, i) for i in todo])
            self.context_free_cache.update(zip(todo, values.tolist()))
        return np.array([self.context_free_cache[int(i)] for i in items])

    def calibrated(self, prompts: list[str], items: list) -> list[np.ndarray]:
        """For each prompt, (K,) conditional minus context-free score of its ``items``."""
        if len(prompts) != len(items):
            raise ValueError(f"{len(prompts)} prompts but {len(items)} item lists")
        items = [self._items(ids) for ids in items]
        conditional = self.conditional(prompts, items)
        free = self.context_free(np.concatenate(items)) if items else []      # new items in one batch
        return [c - f for c, f in zip(conditional, np.split(free, np.cumsum([len(i) for i in items])[:-1]))]


def _standardise(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(B, K) z-scores of ``x`` within each row's ``valid`` entries; 0 where invalid or the row is constant."""
    x = torch.where(valid, x, 0.0)
    n = valid.sum(1, keepdim=True).clamp_min(1)
    mean = x.sum(1, keepdim=True) / n
    std = (torch.where(valid, x - mean, 0.0).square().sum(1, keepdim=True) / n).sqrt()
    return torch.where(valid & (std > 1e-12), (x - mean) / std.clamp_min(1e-12), 0.0)


class LLMReranker:
    """Re-rank ``base``'s top ``num_candidates`` unseen items with ``scorer``'s calibrated LLM scores (module
    docstring). ``scores(seqs (B, L)) -> (B, N+1)`` float64; ``weight`` in [0, 1] is the LLM's share."""

    def __init__(self, base, scorer: TitleScorer, num_candidates: int = 20, weight: float = 0.5,
                 max_titles: int = 10, base_max_len: int | None = None):
        if int(num_candidates) != num_candidates or num_candidates < 1:
            raise ValueError(f"num_candidates must be an integer >= 1, got {num_candidates}")
        if max_titles < 1:
            raise ValueError(f"max_titles must be >= 1, got {max_titles}")
        self.base, self.scorer, self.num_candidates, self.max_titles = base, scorer, int(num_candidates), max_titles
        self.base_max_len = base_max_len   # the base model reads the last base_max_len items; candidates skip all
        self.weight = weight

    @property
    def weight(self) -> float:
        return self._weight

    @weight.setter
    def weight(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"weight must lie in [0, 1] (0 = base model, 1 = LLM alone), got {value}")
        self._weight = float(value)

    def _base_scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """(B, N+1) float64 CPU base scores, the base model in eval mode (its mode restored after)."""
        model, device = self.base, None
        was_training = isinstance(model, torch.nn.Module) and model.training
        if isinstance(model, torch.nn.Module):
            device = next((p.device for p in model.parameters()), None)
            model.eval()                                               # no dropout while scoring
        try:
            seen = seqs if self.base_max_len is None else seqs[:, -self.base_max_len:]
            with torch.no_grad():
                scores = model.scores(seen.to(device) if device is not None else seen)
        finally:
            if was_training:
                model.train()
        scores = torch.as_tensor(scores).detach().double().cpu()
        if tuple(scores.shape) != (len(seqs), len(self.scorer.titles)):
            raise ValueError(f"base scores have shape {tuple(scores.shape)}, but there are {len(self.scorer.titles)}"
                             f" titles (N+1): expected ({len(seqs)}, {len(self.scorer.titles)})")
        if torch.isnan(scores).any() or torch.isposinf(scores).any():
            raise ValueError("base scores contain NaN or +inf: the base model is broken")
        return scores

    def parts(self, seqs: torch.Tensor, with_llm: bool = True) -> dict:
        """What ``combine`` needs: ``base`` (B, N+1), ``cand`` (B, K) ids, ``valid`` (B, K) (real candidates),
        ``z_base``, ``z_llm`` (B, K) (zeros without ``with_llm``). The LLM runs here, once per (prompt, item)."""
        seqs = torch.as_tensor(seqs).long().cpu()
        base = self._base_scores(seqs)
        eligible = base.scatter(1, seqs, -torch.inf)                   # history out; column 0 = padding, out too
        eligible[:, 0] = -torch.inf
        k = min(self.num_candidates, base.shape[1] - 1)
        top, cand = torch.sort(eligible, dim=1, descending=True, stable=True)
        top, cand = top[:, :k], cand[:, :k]                            # (B, K)
        valid = top > -torch.inf                                       # fewer than K unseen items: the rest invalid
        z_llm = torch.zeros_like(top)
        if with_llm:
            titles = self.scorer.titles
            prompts = [history_prompt(titles[row[row > 0][-self.max_titles:]], self.max_titles) for row in seqs.numpy()]
            llm = self.scorer.calibrated(prompts, [c[v] for c, v in zip(cand.numpy(), valid.numpy())])
            for row, values in enumerate(llm):
                z_llm[row, valid[row]] = torch.from_numpy(values).double()
            z_llm = _standardise(z_llm, valid)
        return {"base": base, "cand": cand, "valid": valid, "z_base": _standardise(top, valid), "z_llm": z_llm}

    def combine(self, parts: dict, weight: float) -> torch.Tensor:
        """(B, N+1) final scores from ``parts`` with LLM share ``weight``: candidates above every other item."""
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"weight must lie in [0, 1], got {weight}")
        base, cand, valid = parts["base"], parts["cand"], parts["valid"]
        ceiling = torch.where(torch.isfinite(base), base, -torch.inf).amax(1, keepdim=True).clamp_min(0.0)
        mixed = ceiling + OFFSET + (1.0 - weight) * parts["z_base"] + weight * parts["z_llm"]    # (B, K)
        return base.scatter(1, cand, torch.where(valid, mixed, base.gather(1, cand)))

    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, L) left-padded ids -> (B, N+1) float64 scores (the LLM is skipped when ``weight == 0``)."""
        return self.combine(self.parts(seqs, with_llm=self.weight > 0), self.weight)


def validation_ranks(reranker: LLMReranker, split: SplitData, grid=WEIGHT_GRID, users: np.ndarray | None = None,
                     max_len: int | None = None, batch_size: int = 64) -> dict[float, np.ndarray]:
    """{weight: (U',) validation ranks (history removed)} of ``users`` (default all) for every weight of ``grid``;
    the base model and the LLM run once per batch of users, whatever the grid."""
    return part_ranks(reranker, split, "valid", grid, users, max_len, batch_size)


def part_ranks(reranker: LLMReranker, split: SplitData, part: str, grid=WEIGHT_GRID, users: np.ndarray | None = None,
               max_len: int | None = None, batch_size: int = 64) -> dict[float, np.ndarray]:
    """``validation_ranks`` for any part ("valid" or "test"): choose on "valid", read "test" once. ``max_len``:
    the history given to the re-ranker (default ``FULL_HISTORY``: all of it, so that no seen item takes a
    candidate slot; the base model reads its own last ``base_max_len``)."""
    max_len = FULL_HISTORY if max_len is None else max_len
    if len(grid) == 0 or any(not 0.0 <= w <= 1.0 for w in grid):
        raise ValueError(f"grid must be a non-empty sequence of weights in [0, 1], got {grid}")
    histories, targets = split.histories(part), split.targets(part)
    users = np.arange(len(targets)) if users is None else np.asarray(users, dtype=np.int64).reshape(-1)
    if len(users) == 0 or users.min() < 0 or users.max() >= len(targets):
        raise ValueError(f"users must be a non-empty array of user indices in 0..{len(targets) - 1}")
    ranks: dict[float, list] = {float(w): [] for w in grid}
    for start in range(0, len(users), batch_size):
        rows = users[start:start + batch_size]
        seen = [histories[u] for u in rows]
        parts = reranker.parts(pad_left(seen, max_len), with_llm=any(w > 0 for w in grid))
        for w in ranks:
            ranks[w].append(target_ranks(reranker.combine(parts, w), targets[rows], seen))
    return {w: np.concatenate(r) for w, r in ranks.items()}


def choose_weight(reranker: LLMReranker, split: SplitData, grid=WEIGHT_GRID, users: np.ndarray | None = None,
                  max_len: int = 50) -> tuple[float, dict]:
    """(best weight, {weight: validation NDCG@10}) over ``grid`` on the VALIDATION part only (``users``: a subset of
    user indices, for fast runs). Ties go to the earlier weight of the grid. ``reranker.weight`` is left unchanged."""
    ranks = validation_ranks(reranker, split, grid, users, max_len)
    scores = {w: float(per_user(r, "ndcg@10").mean()) for w, r in ranks.items()}
    return max(scores, key=scores.get), scores


def listing_prompt(prompt: str, candidate_titles: list[str]) -> str:
    """``prompt`` (a ``history_prompt``, its final cue dropped) + the candidates numbered 1.. + ``LISTING_CUE``."""
    head = prompt.removesuffix(CONTEXT_FREE_PROMPT).rstrip()
    lines = "\n".join(f"{i}. {t}" for i, t in enumerate(candidate_titles, 1))
    return f"{head}\nCandidates:\n{lines}\n{LISTING_CUE}"


def position_bias(lm: LLM, candidate_titles: list[list[str]], prompts: list[str]) -> pd.DataFrame:
    """How often the LLM picks each list position when the prompt LISTS the candidates (LLMRank's position bias).

    Per user: the option numbers " 1" .. " K" are scored (total log-probability) after ``listing_prompt``, the argmax
    is the choice; once in the given order, once reversed. Returns a table indexed by ``position`` (1..K) with the
    share of choices in ``original`` and ``reversed`` order and ``pooled``; a position-blind ranker would give flat
    shares. ``attrs["consistent"]``: share of users who pick the same ITEM in both orders. Keep K <= 9.
    """
    if len(candidate_titles) != len(prompts) or not prompts or any(len(c) < 2 for c in candidate_titles):
        raise ValueError("need one prompt per user and at least 2 candidate titles per user")
    picks = {}
    for order, arrange in (("original", list), ("reversed", lambda t: list(t)[::-1])):
        listed = [listing_prompt(p, arrange(c)) for p, c in zip(prompts, candidate_titles)]
        options = [[f" {i}" for i in range(1, len(c) + 1)] for c in candidate_titles]
        picks[order] = np.array([int(np.argmax(v)) + 1 for s in range(0, len(listed), 8) for v in
                                 prompt_cached_logprobs(lm, listed[s:s + 8], options[s:s + 8], reduce="sum")])
    sizes = np.array([len(c) for c in candidate_titles])
    positions = np.arange(1, sizes.max() + 1)
    table = pd.DataFrame({k: [(v == p).mean() for p in positions] for k, v in picks.items()},
                         index=pd.Index(positions, name="position"))
    table["pooled"] = (table["original"] + table["reversed"]) / 2
    table.attrs["consistent"] = float((picks["original"] == sizes + 1 - picks["reversed"]).mean())
    return table


def zero_shot_sampled(scorer: TitleScorer, split: SplitData, part: str, num_negatives: int = 19,
                      users: np.ndarray | None = None, seed: int = 0, max_titles: int = 10) -> np.ndarray:
    """(U',) rank of each user's target among itself + ``num_negatives`` items sampled uniformly from the items not
    in the history (``course_lib.evaluation``'s uniform weights), by the calibrated LLM score alone (ties against
    the target). CAVEAT: a sampled ranking, easier than full ranking and NOT comparable with it (or across
    ``num_negatives``); it is LLMRank's zero-shot setting, shown for that reason only."""
    from course_lib.evaluation import candidate_weights

    if num_negatives < 1:
        raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
    histories, targets = split.histories(part), split.targets(part)
    users = np.arange(len(targets)) if users is None else np.asarray(users, dtype=np.int64).reshape(-1)
    probs = candidate_weights(split, "uniform").float().expand(len(users), -1).clone()      # (U', N+1)
    for row, u in enumerate(users):
        probs[row, torch.as_tensor(np.append(histories[u], targets[u]))] = 0.0
    if int((probs > 0).sum(1).min()) < num_negatives:
        raise ValueError(f"a user has fewer than num_negatives={num_negatives} unseen items to sample from")
    print(f"WARNING: sampled ranking (target + {num_negatives} uniform negatives) is NOT comparable with full ranking.")
    negatives = torch.multinomial(probs, num_negatives, generator=torch.Generator().manual_seed(seed)).numpy()
    prompts = [history_prompt(scorer.titles[histories[u]], max_titles) for u in users]
    scores = scorer.calibrated(prompts, [np.r_[targets[u], neg] for u, neg in zip(users, negatives)])
    return np.array([1 + int((s[1:] >= s[0]).sum()) for s in scores], dtype=np.int64)
