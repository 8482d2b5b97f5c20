"""SASRec (Kang & McAuley, ICDM 2018): a causal (GPT-style) Transformer over item sequences.

Built on ``transformers.GPT2Model`` with a config over the *item* vocabulary (no pretrained weights)::

    token ids   0        padding (never attended, never recommended)
                1 .. N   items

The item embedding table ``item_emb`` (N+1, D) (GPT-2's ``wte``) is shared between the input and the output:
the score of item i after position t is ``hidden[t] @ item_emb[i]``.

Positions (GPT-2's learned ``wpe``) are counted from the RIGHT: with left padding the most recent item always
sits at position ``max_len - 1``, the one before at ``max_len - 2``, ... whatever the input length L. So an
item's position says "how many steps ago", and the outputs at real positions do not depend on how much left
padding a batch carries (padding keys are masked out of attention).

Two training objectives (``SASRecConfig.loss``):

- ``"ce"``: full cross-entropy over all N items at every position ("SASRec+", Klenitskiy & Vasilev, RecSys 2023);
- ``"bce"``: binary cross-entropy of the true next item against ONE uniformly sampled negative per position
  (the original SASRec).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import GPT2Config, GPT2Model

LOSSES = ("ce", "bce")


@dataclass
class SASRecConfig:
    """Hyperparameters of the model (the training ones live in ``course_lib.train.TrainConfig``)."""

    num_items: int
    max_len: int = 50
    hidden_dim: int = 64
    num_heads: int = 1
    num_layers: int = 2
    dropout: float = 0.2
    inner_dim: int | None = None          # feed-forward width; None = 4 * hidden_dim (GPT-2's default)
    loss: str = "ce"
    attn_implementation: str = "sdpa"     # "eager" to read attention weights (output_attentions)

    def __post_init__(self):
        if self.num_items < 1:
            raise ValueError(f"num_items must be >= 1, got {self.num_items}")
        if self.max_len < 1:
            raise ValueError(f"max_len must be >= 1, got {self.max_len}")
        if self.hidden_dim % self.num_heads:
            raise ValueError(f"hidden_dim={self.hidden_dim} is not divisible by num_heads={self.num_heads}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r}: expected one of {LOSSES}")
        if self.loss == "bce" and self.num_items < 2:
            raise ValueError("loss='bce' samples a negative item: it needs num_items >= 2")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


def sample_negatives(targets: torch.Tensor, num_items: int, allowed: torch.Tensor | None = None) -> torch.Tensor:
    """targets (M,) item ids in 1..N -> (M,) ids drawn uniformly from the N-1 items other than each target.

    With ``allowed`` (K,) sorted item ids containing every target: drawn from the K-1 allowed items other
    than each target instead.
    """
    if allowed is None:
        negatives = torch.randint(1, num_items, targets.shape, device=targets.device)   # 1 .. N-1
        return negatives + (negatives >= targets).long()                                # skip the target
    position = torch.searchsorted(allowed, targets)                                     # target's index
    draws = torch.randint(0, len(allowed) - 1, targets.shape, device=targets.device)    # 0 .. K-2
    return allowed[draws + (draws >= position).long()]


class SASRec(nn.Module):
    """SASRec on GPT-2: ``forward(seqs) -> hidden (B, L, D)``, ``loss(batch)``, ``scores(seqs) -> (B, N+1)``."""

    def __init__(self, config: SASRecConfig):
        super().__init__()
        self.config = config
        self.num_items, self.max_len = config.num_items, config.max_len
        gpt_config = GPT2Config(
            vocab_size=config.num_items + 1, n_positions=config.max_len, n_embd=config.hidden_dim,
            n_layer=config.num_layers, n_head=config.num_heads, n_inner=config.inner_dim,
            activation_function="gelu", resid_pdrop=config.dropout, embd_pdrop=config.dropout,
            attn_pdrop=config.dropout, bos_token_id=None, eos_token_id=None, pad_token_id=0,
            use_cache=False, attn_implementation=config.attn_implementation)
        self.gpt = GPT2Model(gpt_config)
        # items kept out of the training loss (never a target, never a negative); not saved in checkpoints
        self.register_buffer("loss_excluded", torch.zeros(config.num_items + 1, dtype=torch.bool),
                             persistent=False)

    def exclude_from_training(self, items) -> None:
        """Keep ``items`` out of the training loss: their logits are -inf in the softmax (loss "ce"), and they
        are never drawn as negatives (loss "bce"). Scoring is unchanged, so they can still be recommended.

        ``items``: internal ids (1..N) or an (N+1,) boolean mask, e.g. ``split.train_item_counts() == 0`` for
        the items that never occur in training. Full cross-entropy otherwise makes such items negatives at
        every position, and the model learns to bury them. Calling again replaces the previous set.
        """
        items = torch.as_tensor(items)
        if items.dtype == torch.bool:
            if items.shape != self.loss_excluded.shape:
                raise ValueError(f"a boolean mask must have N+1 = {self.num_items + 1} entries, got {tuple(items.shape)}")
            mask = items.clone()
        else:
            ids = items.long().flatten()
            if len(ids) and (ids.min() < 1 or ids.max() > self.num_items):
                raise ValueError(f"item ids must lie in 1..{self.num_items}")
            mask = torch.zeros_like(self.loss_excluded)
            mask[ids] = True
        mask[0] = False                                # padding: column 0 is -inf anyway
        if int((~mask[1:]).sum()) < (2 if self.config.loss == "bce" else 1):
            raise ValueError("exclude_from_training would leave too few items to train on")
        self.loss_excluded.copy_(mask.to(self.loss_excluded.device))

    def item_table(self) -> torch.Tensor:
        """(N+1, D) the item vectors, row 0 = padding; used for the input AND the scoring.

        Every item-vector lookup goes through this method, so a subclass can build the table differently
        (e.g. from item texts) and both sides follow.
        """
        return self.gpt.wte.weight

    @property
    def item_emb(self) -> torch.Tensor:
        """(N+1, D) ``item_table()``."""
        return self.item_table()

    def forward(self, seqs: torch.Tensor, output_attentions: bool = False):
        """seqs (B, L) item ids, left padded, L <= max_len -> hidden (B, L, D).

        With ``output_attentions=True`` returns ``(hidden, attentions)``: a tuple of num_layers tensors
        (B, num_heads, L, L) (needs ``attn_implementation="eager"``).
        """
        if seqs.dim() != 2:
            raise ValueError(f"seqs must be (B, L), got shape {tuple(seqs.shape)}")
        length = seqs.shape[1]
        if length > self.max_len:
            raise ValueError(f"sequence length {length} exceeds max_len={self.max_len}")
        if output_attentions and self.gpt.config._attn_implementation != "eager":
            raise ValueError('output_attentions needs SASRecConfig(attn_implementation="eager")')
        positions = torch.arange(self.max_len - length, self.max_len, device=seqs.device)
        out = self.gpt(inputs_embeds=self.item_table()[seqs], attention_mask=(seqs > 0).long(),
                       position_ids=positions.expand(seqs.shape[0], length),
                       output_attentions=output_attentions)
        # Padding query rows attend to nothing real (their softmax is over masked keys only): zero them, so
        # they are finite, never depend on later items, and carry nothing.
        hidden = out.last_hidden_state * (seqs > 0).unsqueeze(-1)
        if output_attentions:
            return hidden, out.attentions
        return hidden

    def item_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden (..., D) -> logits (..., N+1); column 0 (padding) is -inf."""
        logits = hidden @ self.item_table().T
        logits[..., 0] = float("-inf")
        return logits

    def loss(self, batch) -> torch.Tensor:
        """Next-item loss over the real positions.

        batch: ``(input_ids, labels)``, both (B, L) (``NextItemDataset``): ``labels[b, t]`` is the item after
        ``input_ids[b, t]``, 0 where there is nothing to predict (ignored).
        """
        input_ids, labels = batch
        hidden = self.forward(input_ids)             # (B, L, D)
        real = labels > 0                            # (B, L)
        if not real.any():
            raise ValueError("batch has no position to predict (all labels are 0)")
        hidden, targets = hidden[real], labels[real]  # (M, D), (M,)
        excluded = self.loss_excluded.any()
        if excluded and self.loss_excluded[targets].any():
            raise ValueError("a training target is an item excluded from training (exclude_from_training)")
        if self.config.loss == "ce":
            logits = self.item_logits(hidden).float()
            if excluded:
                logits = logits.masked_fill(self.loss_excluded, float("-inf"))
            return nn.functional.cross_entropy(logits, targets)
        return self._bce(hidden, targets)

    def _bce(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """hidden (M, D), targets (M,) -> BCE of each target against one uniform negative != target."""
        allowed = torch.nonzero(~self.loss_excluded[1:]).flatten() + 1 if self.loss_excluded.any() else None
        negatives = sample_negatives(targets, self.num_items, allowed)
        table = self.item_table()
        pos = (hidden * table[targets]).sum(-1).float()           # (M,)
        neg = (hidden * table[negatives]).sum(-1).float()
        return -(nn.functional.logsigmoid(pos) + nn.functional.logsigmoid(-neg)).mean()

    @torch.no_grad()
    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, L) histories, left padded, any L -> scores (B, N+1) for the next item; column 0 = -inf.

        Only the last ``max_len`` items are used. An all-padding row (no history) gets finite scores.
        """
        seqs = seqs[:, -self.max_len:].to(self.gpt.wpe.weight.device)
        hidden = self.forward(seqs)                  # (B, L, D)
        return self.item_logits(hidden[:, -1])
