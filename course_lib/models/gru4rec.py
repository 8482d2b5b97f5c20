"""GRU4Rec: a recurrent network reads the history item by item (Hidasi et al., ICLR 2016).

Before self-attention, the sequence model of session-based recommendation was a gated recurrent unit. For a
history ``s_1 .. s_T`` with item embeddings ``e_{s_t}`` (D,), the GRU carries a state ``h_t`` (G,)::

    z_t = sigmoid(W_z e_{s_t} + U_z h_{t-1})                 update gate
    r_t = sigmoid(W_r e_{s_t} + U_r h_{t-1})                 reset gate
    n_t = tanh(W_n e_{s_t} + r_t * (U_n h_{t-1}))            candidate state
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

and the next item is scored against every item's embedding: ``score(i) = (h_t A + a) . e_i`` with a dense layer
``A`` (G, D) back to the embedding size (output and input tables are tied). The loss is full cross-entropy over
the catalogue at every position, the variant RecBole and most later work use (the original paper trained with
session-parallel mini-batches and ranking losses, BPR and TOP1). As in RecBole, the GRU has no bias terms, so a
padding step (embedding 0, state 0) leaves the state at exactly 0: left padding changes nothing.

Same interface as SASRec: ``forward(seqs) -> hidden (B, L, D)``, ``scores(seqs) -> (B, N+1)``, ``loss(batch)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class GRU4RecConfig:
    """Hyperparameters of the model (the training ones live in ``course_lib.train.TrainConfig``)."""

    num_items: int
    max_len: int = 50
    hidden_dim: int = 64          # item embedding size D
    gru_dim: int = 128            # GRU state size G
    num_layers: int = 1
    dropout: float = 0.3          # on the input embeddings

    def __post_init__(self):
        if self.num_items < 1 or self.max_len < 1 or self.hidden_dim < 1 or self.gru_dim < 1 or self.num_layers < 1:
            raise ValueError(f"num_items, max_len, hidden_dim, gru_dim and num_layers must be >= 1: {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


class GRU4Rec(nn.Module):
    """Embedding -> dropout -> GRU (no bias) -> dense -> dot product with the tied item table."""

    def __init__(self, config: GRU4RecConfig):
        super().__init__()
        self.config = config
        self.item_emb = nn.Embedding(config.num_items + 1, config.hidden_dim, padding_idx=0)
        self.emb_dropout = nn.Dropout(config.dropout)
        self.gru = nn.GRU(config.hidden_dim, config.gru_dim, config.num_layers, bias=False, batch_first=True)
        self.dense = nn.Linear(config.gru_dim, config.hidden_dim)
        nn.init.xavier_normal_(self.item_emb.weight)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()
        for name, weight in self.gru.named_parameters():
            nn.init.xavier_uniform_(weight)

    @property
    def num_items(self) -> int:
        return self.config.num_items

    @property
    def max_len(self) -> int:
        return self.config.max_len

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, L) left-padded item ids -> hidden (B, L, D), one vector per position."""
        states, _ = self.gru(self.emb_dropout(self.item_emb(seqs)))         # (B, L, G)
        return self.dense(states)                                           # (B, L, D)

    def item_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden (..., D) -> logits (..., N+1); column 0 (padding) is -inf."""
        logits = hidden @ self.item_emb.weight.T
        logits[..., 0] = float("-inf")
        return logits

    def loss(self, batch) -> torch.Tensor:
        """Full cross-entropy at every real position of ``(input_ids, labels)`` (B, L) (``NextItemDataset``)."""
        input_ids, labels = batch
        hidden = self.forward(input_ids)
        real = labels > 0
        if not real.any():
            raise ValueError("batch has no position to predict (all labels are 0)")
        return nn.functional.cross_entropy(self.item_logits(hidden[real]).float(), labels[real])

    @torch.no_grad()
    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, L) histories, left padded -> scores (B, N+1) for the next item (the last max_len items read)."""
        seqs = seqs[:, -self.max_len:].to(self.item_emb.weight.device)
        return self.item_logits(self.forward(seqs)[:, -1])
