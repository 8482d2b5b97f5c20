"""SASRec with items described by text: three ways to put a language model's item vectors into SASRec.

``t_i`` (T,) is item ``i``'s text embedding from a pretrained sentence encoder (frozen, ``course_lib.text``),
``W`` (T, D) and ``b`` (D,) a learned projection, ``e_i`` (D,) SASRec's ID embedding. The item table
``item_table()`` (N+1, D) -- used for the input AND for scoring -- is then:

* ``"text"`` (frozen text + learned projection; UniSRec / LLM-ESR style):  ``v_i = t_i W + b``;
* ``"fusion"`` (ID + projected text): ``v_i = e_i + (t_i W + b)`` (``fusion="sum"``), or with a learned gate
  ``g_i = sigmoid([e_i, t_i W + b] G)`` (G: (2D, D)): ``v_i = g_i * e_i + (1 - g_i) * (t_i W + b)``
  (``fusion="gate"``);
* text-initialised IDs (``text_initialised_sasrec``): a plain SASRec whose ID table starts as the text
  embeddings reduced to D dimensions by PCA, then fine-tuned like any ID table.

Items never seen in training still have ``t_i``, so "text" scores them; the ID parts of the other variants
know nothing about them. Full cross-entropy makes such items negatives at every position, which teaches the
projection to bury them; ``train_variant(..., mask_unseen=True)`` keeps them out of the training softmax.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from course_lib.models.sasrec import SASRec, SASRecConfig

MODES = ("text", "fusion")
FUSIONS = ("sum", "gate")


def center_text_table(text_emb) -> torch.Tensor:
    """(N+1, T) text embeddings -> float32 tensor, centred on the items' mean and rescaled to unit rows.

    Sentence-encoder vectors share a large common direction (all cosines are high); removing the mean lets
    the projection see what differs between items. Row 0 (padding) stays zero.
    """
    table = torch.as_tensor(np.asarray(text_emb), dtype=torch.float32).clone()
    if table.ndim != 2 or table.shape[0] < 2:
        raise ValueError(f"text_emb must be (N+1, T) with N >= 1, got shape {tuple(table.shape)}")
    items = table[1:] - table[1:].mean(dim=0, keepdim=True)
    table[1:] = nn.functional.normalize(items, dim=-1)
    table[0] = 0.0
    return table


class TextSASRec(SASRec):
    """SASRec whose item table is built from frozen text embeddings ("text") or IDs + text ("fusion").

    Args:
        config: the SASRec settings (``num_items`` must match ``text_emb``).
        text_emb: (N+1, T) item text embeddings aligned with internal ids (row 0 = padding).
        mode: "text" or "fusion".
        fusion: "sum" or "gate" (only for mode "fusion").
        center: centre and renormalise the text vectors first (``center_text_table``).
    """

    def __init__(self, config: SASRecConfig, text_emb, mode: str = "text", fusion: str = "sum",
                 center: bool = True):
        if mode not in MODES:
            raise ValueError(f"mode={mode!r}: expected one of {MODES}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion={fusion!r}: expected one of {FUSIONS}")
        super().__init__(config)
        table = center_text_table(text_emb) if center else torch.as_tensor(np.asarray(text_emb), dtype=torch.float32)
        if table.shape[0] != config.num_items + 1:
            raise ValueError(f"text_emb has {table.shape[0]} rows, expected num_items + 1 = {config.num_items + 1}")
        self.mode, self.fusion = mode, fusion
        self.register_buffer("text_emb", table)                                   # (N+1, T), frozen
        self.register_buffer("real_item", (torch.arange(table.shape[0]) > 0).float().unsqueeze(1))  # (N+1, 1)
        self.project = nn.Linear(table.shape[1], config.hidden_dim)               # W (T, D), b (D,)
        self.gate = nn.Linear(2 * config.hidden_dim, config.hidden_dim) if mode == "fusion" and fusion == "gate" else None
        if mode == "text":  # the ID table is not used: keep it out of the optimiser's way
            self.gpt.wte.weight.requires_grad_(False)

    def text_table(self) -> torch.Tensor:
        """(N+1, D) projected text vectors ``t_i W + b``; row 0 (padding) = 0."""
        return self.project(self.text_emb) * self.real_item

    def item_table(self) -> torch.Tensor:
        """(N+1, D) item vectors for input and scoring (see the module docstring)."""
        text = self.text_table()
        if self.mode == "text":
            return text
        ids = self.gpt.wte.weight                                                 # (N+1, D)
        if self.gate is None:
            return ids + text
        g = torch.sigmoid(self.gate(torch.cat([ids, text], dim=-1)))            # (N+1, D)
        return g * ids + (1.0 - g) * text


def pca_projection(text_emb, dim: int) -> torch.Tensor:
    """(N+1, T) text embeddings -> (N+1, dim) their top-``dim`` principal components (row 0 stays zero).

    When the table has fewer than ``dim`` components (T or N smaller than ``dim``), the extra columns are 0.
    """
    table = torch.as_tensor(np.asarray(text_emb), dtype=torch.float32)
    if table.ndim != 2 or table.shape[0] < 3:
        raise ValueError(f"text_emb must be (N+1, T) with N >= 2, got shape {tuple(table.shape)}")
    items = table[1:] - table[1:].mean(dim=0, keepdim=True)
    _, _, v = torch.linalg.svd(items, full_matrices=False)                       # v: (min(N, T), T)
    keep = min(dim, v.shape[0])
    out = torch.zeros(table.shape[0], dim)
    out[1:, :keep] = items @ v[:keep].T
    return out


def text_initialised_sasrec(config: SASRecConfig, text_emb, init_std: float = 0.02) -> SASRec:
    """A plain SASRec whose ID table starts from the text: PCA to D dims, rescaled to std ``init_std``.

    GPT-2 initialises embeddings with std 0.02; matching it keeps the start well-conditioned while the
    *directions* (which items are close) come from the text. Training then fine-tunes the table freely.
    """
    model = SASRec(config)
    reduced = pca_projection(text_emb, config.hidden_dim)                        # (N+1, D)
    if reduced.shape[0] != config.num_items + 1:
        raise ValueError(f"text_emb has {reduced.shape[0]} rows, expected num_items + 1 = {config.num_items + 1}")
    reduced[1:] *= init_std / reduced[1:].std().clamp(min=1e-12)
    with torch.no_grad():
        model.gpt.wte.weight.copy_(reduced)
    return model


VARIANTS = ("id", "text", "text-init", "fusion")


def build_variant(variant: str, config: SASRecConfig, text_emb=None, fusion: str = "sum") -> SASRec:
    """A fresh model for ``variant``: "id" (plain SASRec), "text", "text-init" or "fusion"."""
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r}: expected one of {VARIANTS}")
    if variant == "id":
        return SASRec(config)
    if text_emb is None:
        raise ValueError(f"variant {variant!r} needs text_emb (N+1, T); see item_text_table")
    if variant == "text-init":
        return text_initialised_sasrec(config, text_emb)
    return TextSASRec(config, text_emb, mode=variant, fusion=fusion)
