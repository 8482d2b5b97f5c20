"""Checkers of notebook 10 (a generative LLM in the loop), both ways, on a tiny Llama built from a config."""

import tempfile
from functools import lru_cache

import numpy as np
import pytest
import torch

from course_lib.exercises.llm import (check_calibration_top, check_lora_parameters, check_pooling,
                                      check_recent_prompt)
from course_lib.llm import CONTEXT_FREE_PROMPT, load_llm, save_tiny_llm
from course_lib.llm_rerank import TitleScorer
from exercise_cases import Case, run_both_ways

TITLES = np.array(["", "Star Wars", "Toy Story", "The Empire Strikes Back", "Sense and Sensibility", "Fargo"],
                  dtype=object)
PROMPT = "A movie fan watched these films, oldest first: Star Wars; Fargo. " + CONTEXT_FREE_PROMPT
ITEMS = [2, 3, 4, 5]


@lru_cache(maxsize=1)
def scorer():
    folder = save_tiny_llm(tempfile.mkdtemp(prefix="tiny-llm-"), [PROMPT, *TITLES[1:]], seed=3)
    return TitleScorer(load_llm(folder, device="cpu"), TITLES)


def tops():
    """(uncalibrated, calibrated) best titles, from sequence log-likelihoods computed here one by one."""
    from course_lib.llm import sequence_logprobs

    lm = scorer().lm
    conts = [" " + TITLES[i] for i in ITEMS]
    cond = sequence_logprobs(lm, [PROMPT] * len(ITEMS), conts)
    free = sequence_logprobs(lm, [CONTEXT_FREE_PROMPT] * len(ITEMS), conts)
    return TITLES[ITEMS[int(np.argmax(cond))]], TITLES[ITEMS[int(np.argmax(cond - free))]]


def good_prompt(titles, max_titles):
    kept = titles[-max_titles:]
    return f"A movie fan watched these films, oldest first: {'; '.join(kept)}. The next film they watch is:" \
        if kept else "The next film they watch is:"


def oldest_prompt(titles, max_titles):
    return good_prompt(titles[:max_titles], max_titles)


def good_pool(hidden, mask, how):
    m = mask.unsqueeze(-1).float()
    if how == "mean":
        return (hidden * m).sum(1) / m.sum(1)
    last = (mask * torch.arange(mask.shape[1])).argmax(1)
    return hidden[torch.arange(len(hidden)), last]


def naive_pool(hidden, mask, how):
    return hidden.mean(1) if how == "mean" else hidden[:, -1]


def lora_count(r):
    """Count LoRA's parameters on one SmolLM2-shaped Llama layer with peft, times 30 layers."""
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=16, hidden_size=576, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=9, num_key_value_heads=3)
    model = get_peft_model(LlamaForCausalLM(config), LoraConfig(r=r, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    return 30 * sum(p.numel() for p in model.parameters() if p.requires_grad)


CASES = [
    Case(check_calibration_top, right=lambda: ((*tops(), scorer(), PROMPT, ITEMS), {}),
         wrong=lambda: ((*tops()[::-1], scorer(), PROMPT, ITEMS), {}) if len(set(tops())) == 2
         else (("Fargo" if tops()[0] != "Fargo" else "Toy Story", tops()[1], scorer(), PROMPT, ITEMS), {}),
         hint="calibration"),
    Case(check_recent_prompt, right=lambda: ((good_prompt,), {}), wrong=lambda: ((oldest_prompt,), {}),
         hint="OLDEST"),
    Case(check_pooling, right=lambda: ((good_pool,), {}), wrong=lambda: ((naive_pool,), {}), hint="real tokens"),
    Case(check_lora_parameters, right=lambda: ((lora_count(16),), {}), wrong=lambda: ((lora_count(16) // 2,), {}),
         hint="two factors", secret=lora_count(16)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_checker_both_ways(case, capsys):
    run_both_ways(case, capsys)


def test_bad_input_is_a_hint_not_a_traceback(capsys):
    assert not check_calibration_top("Fargo", "Fargo", "not a scorer", PROMPT, ITEMS)
    assert not check_calibration_top(1, 2, scorer(), PROMPT, ITEMS)
    assert not check_recent_prompt("a prompt")
    assert not check_recent_prompt(lambda titles, n: 1 / 0)
    assert not check_pooling(lambda hidden, mask, how: hidden)
    assert not check_lora_parameters("many")
    assert not check_lora_parameters(lora_count(8))               # r = 8's count is not r = 16's
    assert capsys.readouterr().out.count("Hint:") == 7
