"""BERT4Rec (Sun et al., CIKM 2019): a bidirectional Transformer trained with the cloze objective.

Built on ``transformers.BertModel`` with a config over the *item* vocabulary (no pretrained weights)::

    token ids   0        padding (never attended, never masked, never recommended)
                1 .. N   items
                N + 1    [MASK]  (input only: it has no score column, so it is never recommended)

Training (cloze): some items of a sequence are replaced by [MASK] and the model predicts them from both
sides (``course_lib.sequences.ClozeDataset``). Inference: append [MASK] after the history (dropping the
oldest item to keep ``max_len``) and score that position. Scoring head as in the BERT4Rec paper::

    h' = LayerNorm(GELU(W h + b))             W: (D, D)
    scores = h' @ item_emb[:N+1].T + bias      item_emb: the input embedding table (tied), bias: (N+1,)

Positions: sequences are left padded to ``max_len``, so the most recent position is always ``max_len - 1``
and the [MASK] at inference always sits at the same position as the most recent item during training.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset
from transformers import BertConfig, BertModel

from course_lib.sequences import ClozeDataset, pad_left


@dataclass
class Bert4RecConfig:
    """Hyperparameters of the model (the training ones live in ``course_lib.train.TrainConfig``)."""

    num_items: int
    max_len: int = 200
    hidden_dim: int = 64
    num_heads: int = 2
    num_layers: int = 2
    dropout: float = 0.2
    attn_implementation: str = "sdpa"

    def __post_init__(self):
        if self.num_items < 1:
            raise ValueError(f"num_items must be >= 1, got {self.num_items}")
        if self.max_len < 2:
            raise ValueError(f"max_len must be >= 2 (history + [MASK]), got {self.max_len}")
        if self.hidden_dim % self.num_heads:
            raise ValueError(f"hidden_dim={self.hidden_dim} is not divisible by num_heads={self.num_heads}")


class Bert4Rec(nn.Module):
    """BERT4Rec: ``forward(seqs) -> hidden (B, L, D)``, ``loss(batch)``, ``scores(seqs) -> (B, N+1)``."""

    def __init__(self, config: Bert4RecConfig):
        super().__init__()
        self.config = config
        self.num_items = config.num_items
        self.max_len = config.max_len
        self.mask_id = config.num_items + 1
        bert_config = BertConfig(
            vocab_size=config.num_items + 2, hidden_size=config.hidden_dim,
            num_hidden_layers=config.num_layers, num_attention_heads=config.num_heads,
            intermediate_size=4 * config.hidden_dim, hidden_act="gelu",
            hidden_dropout_prob=config.dropout, attention_probs_dropout_prob=config.dropout,
            max_position_embeddings=config.max_len, type_vocab_size=1, pad_token_id=0,
            attn_implementation=config.attn_implementation)
        self.bert = BertModel(bert_config, add_pooling_layer=False)
        self.transform = nn.Sequential(nn.Linear(config.hidden_dim, config.hidden_dim), nn.GELU(),
                                       nn.LayerNorm(config.hidden_dim, eps=bert_config.layer_norm_eps))
        self.output_bias = nn.Parameter(torch.zeros(config.num_items + 1))

    @property
    def item_emb(self) -> torch.Tensor:
        """(N+2, D) the input embedding table (row 0 padding, row N+1 [MASK]); shared with the scoring head."""
        return self.bert.embeddings.word_embeddings.weight

    def forward(self, seqs: torch.Tensor, output_attentions: bool = False):
        """seqs (B, L) item ids, left padded, L <= max_len -> hidden (B, L, D).

        With ``output_attentions=True`` returns ``(hidden, attentions)`` (needs ``attn_implementation="eager"``).
        """
        if seqs.dim() != 2:
            raise ValueError(f"seqs must be (B, L), got shape {tuple(seqs.shape)}")
        if seqs.shape[1] > self.max_len:
            raise ValueError(f"sequence length {seqs.shape[1]} exceeds max_len={self.max_len}")
        out = self.bert(input_ids=seqs, attention_mask=(seqs > 0).long(),
                        output_attentions=output_attentions)
        if output_attentions:
            return out.last_hidden_state, out.attentions
        return out.last_hidden_state

    def item_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden (..., D) -> logits (..., N+1) over padding + items; column 0 (padding) is -inf."""
        logits = self.transform(hidden) @ self.item_emb[: self.num_items + 1].T + self.output_bias
        logits[..., 0] = float("-inf")
        return logits

    def loss(self, batch) -> torch.Tensor:
        """Cross-entropy over all items at the masked positions only.

        batch: ``(input_ids, labels)``, both (B, L); labels hold the original item where the input has
        [MASK] and 0 elsewhere (ignored).
        """
        input_ids, labels = batch
        hidden = self.forward(input_ids)              # (B, L, D)
        masked = labels > 0                           # (B, L)
        if not masked.any():
            raise ValueError("batch has no masked position (all labels are 0): nothing to predict")
        logits = self.item_logits(hidden[masked])     # (M, N+1), M = number of masked positions
        return nn.functional.cross_entropy(logits, labels[masked])

    def with_mask_appended(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, L) left padded, any L -> (B, max_len): last max_len-1 items, then [MASK] at the end."""
        history = seqs[:, -(self.max_len - 1):]
        out = torch.zeros(seqs.shape[0], self.max_len, dtype=torch.long, device=seqs.device)
        out[:, self.max_len - 1 - history.shape[1]: self.max_len - 1] = history
        out[:, -1] = self.mask_id
        return out

    @torch.no_grad()
    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, L) histories, left padded -> scores (B, N+1) for the next item; column 0 = -inf."""
        device = self.output_bias.device
        hidden = self.forward(self.with_mask_appended(seqs.to(device)))   # (B, max_len, D)
        return self.item_logits(hidden[:, -1])


class ClozeWithLastItemDataset(Dataset):
    """ClozeDataset examples, where with probability ``last_item_prob`` only the most recent item is masked.

    The BERT4Rec paper adds such examples because they match inference (one [MASK] after the history).
    Returns ``(input_ids, labels)``, LongTensor (max_len,) each, like ClozeDataset.
    """

    def __init__(self, cloze: ClozeDataset, last_item_prob: float):
        if not 0.0 <= last_item_prob <= 1.0:
            raise ValueError(f"last_item_prob must lie in [0, 1], got {last_item_prob}")
        self.cloze, self.last_item_prob = cloze, last_item_prob

    def __len__(self) -> int:
        return len(self.cloze)

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        if torch.rand(()) >= self.last_item_prob:
            return self.cloze[idx]
        items = pad_left([self.cloze.examples[idx]], self.cloze.max_len)[0]
        labels = torch.zeros_like(items)
        labels[-1] = items[-1]
        inputs = items.clone()
        inputs[-1] = self.cloze.mask_id
        return inputs, labels
