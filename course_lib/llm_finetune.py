"""Fine-tuning a pretrained causal LM on item sequences with LoRA (notebook 10, ``course train llm-finetune``).

The pipeline::

    examples = next_title_examples(split, titles)          # (prompt, " " + next title) from the training parts
    lm = add_lora(load_llm())                              # frozen LM + small trainable low-rank adapters
    history = finetune(lm, examples, time_budget_s=600)    # loss on the title tokens only
    rec = FineTunedLLMRecommender(lm, titles)              # scores(seqs (B, L)) -> (B, N+1)

Objective. With prompt tokens x, title tokens y_1 .. y_T and y_{T+1} = EOS (so that the model learns where a
title ends), a batch's loss is the mean over its target tokens of ``-log p(y_t | x, y_<t)``; prompt and padding
tokens carry the label -100 and never count. The catalogue-constrained output (a prefix trie, beam search, the
recommender) lives in ``course_lib.llm_constrained`` and is re-exported here.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch

from course_lib.llm import LLM, truncate_left
from course_lib.llm_constrained import (BASE_SCORE, IGNORE, MODES, PROMPT, FineTunedLLMRecommender, TitleTrie,
                                        check_titles, collate_left, constrained_beam_search, next_title_prompt,
                                        score_all_titles)
from course_lib.precision import amp_dtype

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
__all__ = ["BASE_SCORE", "IGNORE", "LORA_TARGETS", "MODES", "PROMPT", "FineTunedLLMRecommender", "TitleTrie",
           "add_lora", "check_titles", "collate_left", "constrained_beam_search", "encode_example", "finetune",
           "next_title_examples", "next_title_prompt", "score_all_titles", "target_loss", "trainable_share"]


def next_title_examples(split, titles, max_titles: int = 10, part: str = "train",
                        max_examples: int | None = None) -> list[tuple[str, str]]:
    """(prompt, " " + next title) pairs from every position of every user's sequence.

    ``part="train"``: the training parts only (what a model chosen on validation may learn from); ``"valid"``:
    the training parts plus the validation item (for a final model evaluated on test). A prompt lists the
    previous <= ``max_titles`` titles, oldest first. ``max_examples``: keep that many, taking each user's most
    recent example first (users interleaved), so a small cap still covers every user.
    """
    titles = check_titles(titles, split.num_items)
    if max_titles < 1:
        raise ValueError(f"max_titles must be >= 1, got {max_titles}")
    if part not in ("train", "valid"):
        raise ValueError(f"part={part!r}: expected 'train' or 'valid'")
    if max_examples is not None and max_examples < 1:
        raise ValueError(f"max_examples must be >= 1 or None, got {max_examples}")
    sequences = split.train if part == "train" else split.histories("test")
    per_user = []
    for seq in sequences:
        names = [str(t) for t in titles[np.asarray(seq, dtype=np.int64)]]
        per_user.append([(next_title_prompt(names[max(0, t - max_titles):t]), " " + names[t])
                         for t in range(len(names) - 1, 0, -1)])              # most recent first
    depth = max((len(u) for u in per_user), default=0)
    ordered = [user[rank] for rank in range(depth) for user in per_user if rank < len(user)]
    return ordered[:max_examples] if max_examples is not None else ordered


def trainable_share(model: torch.nn.Module) -> tuple[int, int, float]:
    """(trainable parameters, all parameters, trainable / all)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total, trainable / max(total, 1)


def add_lora(lm: LLM, r: int = 8, alpha: float = 16, dropout: float = 0.05,
             target_modules: tuple[str, ...] = LORA_TARGETS, seed: int = 0) -> LLM:
    """``lm`` with LoRA adapters (Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR 2022).

    Each adapted weight W (d_out, d_in) becomes ``W + (alpha / r) B A`` with A (r, d_in) random and B (d_out, r)
    zero at the start (the model starts as the pretrained one); only A and B train. On SmolLM2-135M (30 layers,
    width 576, keys/values 192 wide) r=8 on q, k, v, o adds 30 * 8 * (2*576+576 + 2*(576+192)) = 921,600
    parameters: 0.68 % of 135.4 M (``trainable_share`` computes it). The base model is modified in place (peft
    injects the adapters into it); the returned LLM holds the wrapped model in eval mode.
    """
    from peft import LoraConfig, get_peft_model

    if r < 1:
        raise ValueError(f"LoRA rank r must be >= 1, got {r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
    config = LoraConfig(task_type="CAUSAL_LM", r=r, lora_alpha=alpha, lora_dropout=dropout,
                        target_modules=list(target_modules))
    with torch.random.fork_rng(devices=[lm.device] if lm.device.type == "cuda" else []):
        torch.manual_seed(seed)                          # A's initial values
        model = get_peft_model(lm.model, config)
    model.eval()
    return dataclasses.replace(lm, model=model, name=f"{lm.name} + LoRA(r={r})", fingerprint=lm.fingerprint + "+lora")


def encode_example(tokenizer, prompt: str, target: str, max_prompt_tokens: int = 384) -> tuple[list, list]:
    """(input_ids, labels) of one example: prompt tokens (oldest cut first) + target tokens + EOS;
    labels = -100 on the prompt, the token itself on the target and EOS."""
    prompt_ids = truncate_left(tokenizer(prompt, add_special_tokens=False)["input_ids"], max_prompt_tokens)
    target_ids = tokenizer(target, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return prompt_ids + target_ids, [IGNORE] * len(prompt_ids) + target_ids


def target_loss(model: torch.nn.Module, batch: dict, device: torch.device) -> torch.Tensor:
    """Mean cross-entropy over the batch's labelled tokens. With left padding the targets sit at the end, so
    only the last k+1 positions' logits are computed (k = the longest target): (B, k+1, V), not (B, W, V)."""
    labels = batch["labels"]
    keep = min(int((labels != IGNORE).sum(1).max()) + 1, labels.shape[1])
    inputs = {k: v.to(device) for k, v in batch.items() if k != "labels"}
    logits = model(**inputs, logits_to_keep=keep).logits[:, :-1].float()          # (B, keep-1, V)
    targets = labels[:, labels.shape[1] - keep + 1:].to(device)                    # (B, keep-1)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                             ignore_index=IGNORE)


def _check_finetune(examples, num_epochs, batch_size, lr, time_budget_s, max_steps) -> None:
    if len(examples) == 0:
        raise ValueError("examples is empty: nothing to fine-tune on (see next_title_examples)")
    if num_epochs < 1 or batch_size < 1 or lr <= 0:
        raise ValueError(f"need num_epochs >= 1, batch_size >= 1, lr > 0; got {num_epochs}, {batch_size}, {lr}")
    if time_budget_s is not None and time_budget_s <= 0:
        raise ValueError(f"time_budget_s must be > 0 or None, got {time_budget_s}")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be >= 1 or None, got {max_steps}")


def _batches(num_examples: int, batch_size: int, num_epochs: int, seed: int):
    """Index lists of one shuffled pass after another (shuffles from ``seed``)."""
    order = torch.Generator().manual_seed(seed)
    for _ in range(num_epochs):
        perm = torch.randperm(num_examples, generator=order).tolist()
        for begin in range(0, num_examples, batch_size):
            yield perm[begin:begin + batch_size]


def finetune(lm: LLM, examples: list[tuple[str, str]], *, num_epochs: int = 1, batch_size: int = 16,
             lr: float = 2e-4, time_budget_s: float | None = None, max_steps: int | None = None, seed: int = 0,
             progress: bool = False, max_prompt_tokens: int = 384) -> dict:
    """Train the parameters of ``lm.model`` that require grad (its LoRA adapters: ``add_lora``) with AdamW.

    Stops after ``num_epochs`` passes, ``max_steps`` steps, or as soon as a step ends past ``time_budget_s``
    seconds (tokenisation included: training time comparable with SASRec's). Shuffling and dropout follow
    ``seed``: deterministic on CPU. bf16 autocast only where ``course_lib.precision`` says it pays (CUDA >= 8.0).
    Returns a history: ``losses`` (one per step), ``steps``, ``examples_seen``, ``epochs`` (examples seen /
    len(examples)), ``seconds``, ``steps_per_second``, ``stopped_by`` ("epochs", "max_steps", "time_budget").
    """
    _check_finetune(examples, num_epochs, batch_size, lr, time_budget_s, max_steps)
    params = [p for p in lm.model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("no parameter of lm.model requires grad: call add_lora(lm) first")
    start, losses, seen, stopped_by = time.perf_counter(), [], 0, "epochs"
    torch.manual_seed(seed)                                    # LoRA dropout
    optimizer = torch.optim.AdamW(params, lr=lr)
    bf16 = amp_dtype(lm.device, "auto", getattr(lm.model.config, "hidden_size", None)) == torch.bfloat16
    lm.model.train()
    try:
        for picks in _batches(len(examples), batch_size, num_epochs, seed):
            rows = [encode_example(lm.tokenizer, *examples[i], max_prompt_tokens) for i in picks]
            with torch.autocast(lm.device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = target_loss(lm.model, collate_left(rows, lm.tokenizer.pad_token_id), lm.device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            seen += len(rows)
            if progress and (len(losses) % 10 == 0 or len(losses) == 1):
                print(f"step {len(losses)}: loss {losses[-1]:.3f} ({time.perf_counter() - start:.0f} s)")
            if max_steps is not None and len(losses) >= max_steps:
                stopped_by = "max_steps"
            elif time_budget_s is not None and time.perf_counter() - start >= time_budget_s:
                stopped_by = "time_budget"
            if stopped_by != "epochs":
                break
    finally:
        lm.model.eval()
    seconds = time.perf_counter() - start
    return {"losses": losses, "steps": len(losses), "examples_seen": seen, "epochs": seen / len(examples),
            "seconds": seconds, "steps_per_second": len(losses) / max(seconds, 1e-9), "stopped_by": stopped_by,
            "time_budget_s": time_budget_s}
