"""Training precision from what the device really does, and the autocast context the loop trains in.

Used by ``course_lib.train`` (``TrainConfig(amp=...)``) and ``course_lib.throughput``; notebook 08 measures it.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

AMP_MODES = ("auto", "bf16", "fp16", "off")

# Mixed precision pays when matrix products are large enough to keep tensor cores busy. For the course's
# 64-wide models we measured the opposite on an H200 (benchmarks/results/throughput-h200.txt, SASRec, hidden 64):
# bf16 autocast trained at 0.63x (batch 128) and 0.86x (batch 512) of fp32's speed, because the extra casts cost
# more than the smaller matrix products save. So "auto" keeps models narrower than AMP_MIN_WIDTH in fp32.
AMP_MIN_WIDTH = 256
BF16_MIN_CAPABILITY = (8, 0)     # Ampere and newer compute in bf16; older GPUs (Colab's T4 is 7.5) only emulate it


def amp_dtype(device: torch.device, amp: str, width: int | None = None) -> torch.dtype | None:
    """The autocast dtype for ``device`` (None = plain fp32): ``precision_for`` with the device's capability."""
    capability = tuple(torch.cuda.get_device_capability(device)) if device.type == "cuda" else None
    if capability is None and amp in ("bf16", "fp16"):
        raise ValueError(f"amp={amp!r} needs a CUDA GPU; this run is on {device.type} (use 'auto' or 'off')")
    return precision_for(capability, amp, width)


def precision_for(capability: tuple[int, int] | None, amp: str = "auto", width: int | None = None):
    """The training precision from what the device really does (None = plain fp32).

    ``capability``: the CUDA compute capability, e.g. (7, 5) for a T4, (9, 0) for an H100/H200; None off CUDA.
    ``amp="auto"``: fp32 off CUDA and for models narrower than ``AMP_MIN_WIDTH`` (``width`` = hidden size; fp32
    measured faster there); otherwise bf16 at capability >= 8.0 and fp16 (with a GradScaler, see ``fit``) below.
    ``torch.cuda.is_bf16_supported()`` is not asked: it answers True on a T4, where bf16 is only emulated.
    ``"bf16"`` / ``"fp16"`` force a dtype (bf16 only where it is native); ``"off"`` is always fp32.
    """
    if amp not in AMP_MODES:
        raise ValueError(f"amp={amp!r}: expected one of {AMP_MODES}")
    if capability is None or amp == "off":
        return None
    native_bf16 = tuple(capability) >= BF16_MIN_CAPABILITY
    if amp == "bf16" and not native_bf16:
        raise ValueError(f"amp='bf16' needs a GPU of compute capability >= 8.0; this one is "
                         f"{capability[0]}.{capability[1]} and would only emulate bf16 (slowly): use 'fp16' or 'auto'")
    if amp in ("bf16", "fp16"):
        return torch.bfloat16 if amp == "bf16" else torch.float16
    if width is not None and width < AMP_MIN_WIDTH:
        return None
    return torch.bfloat16 if native_bf16 else torch.float16


def model_width(model: torch.nn.Module) -> int | None:
    """The hidden size of ``model`` (``model.config.hidden_dim``), or None when it does not say."""
    width = getattr(getattr(model, "config", None), "hidden_dim", None)
    return int(width) if isinstance(width, int) else None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """``torch.autocast`` to ``dtype`` on ``device``, or nothing when ``dtype`` is None (plain fp32)."""
    return torch.autocast(device.type, dtype=dtype) if dtype else nullcontext()
