"""GloVe (Pennington, Socher & Manning, 2014) in PyTorch, trained on the non-zero co-occurrence entries.

Objective (the paper's eq. 8), summed over the non-zero entries ``X_ij > 0`` of the co-occurrence matrix::

    J = sum_ij f(X_ij) * (w_i . c_j + b_i + b~_j - log X_ij) ** 2
    f(x) = min(1, (x / x_max) ** alpha)

``w_i`` (``W``, the "word" vectors) and ``c_j`` (``C``, the "context" vectors) are ``(V, D)`` tables,
``b`` and ``b~`` are ``(V,)`` biases. After training the paper uses ``W + C`` as the embedding.
Entries with ``X_ij = 0`` never appear (``f(0) = 0`` and ``log 0`` is undefined), which is why training
only needs the sparse list of non-zero entries, visited in shuffled mini-batches.

The reference C implementation optimises with AdaGrad (initial accumulator 1, learning rate 0.05); that is
the default here, Adam is available as ``optimizer="adam"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from tqdm import tqdm

OPTIMIZERS = ("adagrad", "adam")


def glove_weight(counts: torch.Tensor, x_max: float = 100.0, alpha: float = 0.75) -> torch.Tensor:
    """f(x) = min(1, (x / x_max) ** alpha), elementwise; same shape as ``counts``."""
    return torch.clamp(counts / x_max, max=1.0) ** alpha


def glove_objective(pred: torch.Tensor, counts: torch.Tensor, x_max: float = 100.0,
                    alpha: float = 0.75) -> torch.Tensor:
    """Sum over entries of f(X) * (pred - log X)^2. ``pred``, ``counts``: (E,) with counts > 0."""
    return (glove_weight(counts, x_max, alpha) * (pred - torch.log(counts)) ** 2).sum()


class GloVe(nn.Module):
    """The GloVe parameters: ``W`` (V, D), ``C`` (V, D), biases ``b_w`` (V,), ``b_c`` (V,).

    Initialised uniformly in ``[-0.5/D, 0.5/D]`` as in the reference implementation.
    """

    def __init__(self, num_symbols: int, dim: int, seed: int | None = None, dtype=torch.float32):
        super().__init__()
        if num_symbols < 1 or dim < 1:
            raise ValueError(f"num_symbols={num_symbols}, dim={dim}: both must be positive")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None

        def uniform(*shape):
            return nn.Parameter((torch.rand(*shape, generator=gen, dtype=dtype) - 0.5) / dim)

        self.W, self.C = uniform(num_symbols, dim), uniform(num_symbols, dim)
        self.b_w, self.b_c = uniform(num_symbols), uniform(num_symbols)

    def predict(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """(E,) w_i . c_j + b_i + b~_j for the entry coordinates ``rows``, ``cols`` (E,)."""
        return (self.W[rows] * self.C[cols]).sum(-1) + self.b_w[rows] + self.b_c[cols]

    def loss(self, rows: torch.Tensor, cols: torch.Tensor, counts: torch.Tensor,
             x_max: float = 100.0, alpha: float = 0.75) -> torch.Tensor:
        """The objective J summed over the given entries (E,) -> scalar."""
        return glove_objective(self.predict(rows, cols), counts, x_max, alpha)

    def vectors(self) -> np.ndarray:
        """(V, D) float32 embedding W + C (the paper's choice)."""
        return (self.W + self.C).detach().cpu().numpy().astype(np.float32)


@dataclass
class GloVeConfig:
    """GloVe hyperparameters. ``x_max`` should suit the scale of the counts (100 for word counts
    in a big corpus; distance-weighted item co-occurrences are much smaller)."""

    dim: int = 64
    x_max: float = 100.0
    alpha: float = 0.75
    lr: float = 0.05
    num_epochs: int = 50
    batch_size: int = 4096
    optimizer: str = "adagrad"
    adagrad_init: float = 1.0
    seed: int = 42

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r}: expected one of {OPTIMIZERS}")
        if self.dim < 1 or self.num_epochs < 1 or self.batch_size < 1 or self.x_max <= 0 or self.lr <= 0:
            raise ValueError(f"GloVeConfig needs positive dim, num_epochs, batch_size, x_max, lr: {self}")


@dataclass
class GloVeResult:
    """A trained GloVe model and its training curve (J summed over all entries, one value per epoch,
    accumulated over the epoch's mini-batches before each update) and the final J."""

    model: GloVe
    losses: list = field(default_factory=list)
    final_loss: float = float("nan")
    num_entries: int = 0


def sparse_entries(cooc: sp.spmatrix) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The non-zero entries of a co-occurrence matrix: rows (E,), cols (E,), counts (E,) float32."""
    if not sp.issparse(cooc):
        cooc = sp.coo_matrix(np.asarray(cooc))
    cooc = sp.coo_matrix(cooc)
    cooc.sum_duplicates()
    if cooc.nnz and cooc.data.min() < 0:
        raise ValueError("co-occurrence counts must be non-negative")
    keep = cooc.data > 0
    return (torch.from_numpy(cooc.row[keep].astype(np.int64)), torch.from_numpy(cooc.col[keep].astype(np.int64)),
            torch.from_numpy(cooc.data[keep].astype(np.float32)))


def _optimizer(model: GloVe, config: GloVeConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adagrad":
        return torch.optim.Adagrad(model.parameters(), lr=config.lr, initial_accumulator_value=config.adagrad_init)
    return torch.optim.Adam(model.parameters(), lr=config.lr)


def _set_initial(model: GloVe, initial: dict) -> None:
    """Copy starting values {"W": (V, D), "C": (V, D), "b_w": (V,), "b_c": (V,)} into ``model``."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            value = torch.as_tensor(np.asarray(initial[name]), dtype=param.dtype).reshape(param.shape)
            param.copy_(value)


def train_glove(cooc: sp.spmatrix, config: GloVeConfig | None = None, progress: bool = False,
                initial: dict | None = None) -> GloVeResult:
    """Fit GloVe to a square co-occurrence matrix ``(V, V)`` with shuffled mini-batches of its non-zero entries.

    ``initial``: optional starting values {"W", "C", "b_w", "b_c"} (e.g. to compare with another
    implementation from the same start). Deterministic for a given ``config.seed`` on CPU.
    """
    config = config or GloVeConfig()
    if cooc.shape[0] != cooc.shape[1]:
        raise ValueError(f"co-occurrence matrix must be square, got shape {cooc.shape}")
    rows, cols, counts = sparse_entries(cooc)
    if rows.numel() == 0:
        raise ValueError("co-occurrence matrix has no positive entries: nothing to fit")
    model = GloVe(cooc.shape[0], config.dim, seed=config.seed)
    if initial is not None:
        _set_initial(model, initial)
    optimizer = _optimizer(model, config)
    gen = torch.Generator().manual_seed(config.seed)
    result = GloVeResult(model=model, num_entries=int(rows.numel()))
    for _ in tqdm(range(config.num_epochs), desc="GloVe", leave=False, disable=not progress):
        order = torch.randperm(rows.numel(), generator=gen)
        epoch_loss = 0.0
        for start in range(0, rows.numel(), config.batch_size):
            batch = order[start:start + config.batch_size]
            loss = model.loss(rows[batch], cols[batch], counts[batch], config.x_max, config.alpha)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item()
        result.losses.append(epoch_loss)
    with torch.no_grad():
        result.final_loss = float(model.loss(rows, cols, counts, config.x_max, config.alpha))
    return result


def symbol_vectors(result: GloVeResult, cooc: sp.spmatrix) -> np.ndarray:
    """(V, D) W + C, with rows of symbols that never co-occur (e.g. padding 0) set to zero."""
    vectors = result.model.vectors()
    seen = np.asarray((abs(cooc).sum(axis=1))).ravel() > 0
    vectors[~seen] = 0.0
    return vectors
