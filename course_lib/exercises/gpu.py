"""Checkers for notebook 08 (training on a GPU, and scaling out).

Each answer is a number that follows from how the hardware and the recipe work (how attention and matrix
products scale, where ``precision_for`` switches to 16 bits, the batch DDP averages over), so the checkers run
on any machine, GPU or not, in milliseconds.
"""

from __future__ import annotations

from typing import Any

from course_lib.exercises.core import Verdict, checker, close_to, number_or_hint, verdict


@checker("08.1")
def check_attention_growth(factor: Any, short: int = 50, long: int = 400) -> Verdict:
    """By what factor the attention score matrices of one sequence grow from length ``short`` to ``long``."""
    value, bad = number_or_hint("08.1", factor, "the growth factor")
    if bad is not None:
        return bad
    ratio = long / short
    if close_to(value, ratio, rel=1e-6):
        return verdict("08.1", False, "that is how the linear parts grow (embeddings, feed-forward layers): every "
                                      "head of every layer compares each position with each other one.")
    return verdict("08.1", close_to(value, ratio**2, rel=1e-6),
                   "count the entries of one head's score matrix at each length (queries x keys) and divide.",
                   "Which is why doubling L more than halves the sequences per second.")


@checker("08.2")
def check_matmul_cost_ratio(ratio: Any, small: int = 1024, large: int = 8192) -> Verdict:
    """How many times longer one synchronised ``a @ a`` should take at size ``large`` than at ``small``."""
    value, bad = number_or_hint("08.2", ratio, "the ratio of the two times")
    if bad is not None:
        return bad
    scale = large / small
    if close_to(value, scale**2, rel=1e-6):
        return verdict("08.2", False, "that counts the entries of the result; each entry is itself a sum over a "
                                      "whole row and column (the notebook's flops = 2 * n**3).")
    return verdict("08.2", close_to(value, scale**3, rel=1e-6),
                   "a product of two n x n matrices takes 2 n^3 floating-point operations: compare them at both sizes.",
                   "Once the GPU is busy, time follows the operations; the queueing time does not.")


@checker("08.3")
def check_amp_min_width(width: Any) -> Verdict:
    """The narrowest hidden size for which ``precision_for((8, 0), "auto", width)`` picks a 16-bit format."""
    value, bad = number_or_hint("08.3", width, "a hidden size")
    if bad is not None:
        return bad
    from course_lib.precision import precision_for

    truth = next(w for w in range(1, 1 << 16) if precision_for((8, 0), "auto", w) is not None)
    return verdict("08.3", value == truth,
                   "call precision_for((8, 0), 'auto', width) for widths between 64 and 512 and find where the "
                   "answer stops being None (fp32); or read AMP_MIN_WIDTH in course_lib.precision.",
                   "Narrower models stay in fp32, where they measured faster.")


@checker("08.5")
def check_ddp_effective_batch(batch: Any, nproc: int = 2, batch_size: int = 128) -> Verdict:
    """Sequences behind one optimizer step when each of ``nproc`` processes draws its own ``batch_size`` batches."""
    value, bad = number_or_hint("08.5", batch, "the effective batch size")
    if bad is not None:
        return bad
    if close_to(value, batch_size):
        return verdict("08.5", False, "each process draws its own batch, and DDP averages the gradients of all "
                                      "of them into one step: count the sequences behind that step.")
    if close_to(value, batch_size / nproc):
        return verdict("08.5", False, "that is the course's own DDP run (one global batch split between the "
                                      "processes); here every process draws a full batch of its own.")
    return verdict("08.5", close_to(value, nproc * batch_size), "multiply what one process draws by the processes.",
                   "Same learning rate, fewer steps per epoch: the recipe is no longer the one chosen on validation.")
