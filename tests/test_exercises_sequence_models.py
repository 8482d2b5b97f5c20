"""Both ways for the checkers of notebooks 05 (SASRec) and 06 (BERT4Rec): right answers pass, typical wrong ones get a hint."""

import numpy as np
import pytest
import torch

from exercise_cases import Case, run_both_ways
from course_lib.exercises import sequence_models as sm
from course_lib.exercises.core import movielens_split

SECTION_3_PARAMS = 211_008          # printed by notebook 05, section 3 (num_items 1682, D 64, max_len 50)


def _split():
    return movielens_split()[1]


def _windows(max_len):
    from course_lib.sequences import NextItemDataset

    return len(NextItemDataset(_split(), max_len=max_len))


def _mask_right(seqs):
    L = seqs.shape[1]
    return torch.ones(L, L, dtype=torch.bool).tril() & (seqs > 0)[:, None, :]


def _mask_no_causal(seqs):
    B, L = seqs.shape
    return (seqs > 0)[:, None, :].expand(B, L, L)


def _weights(Q, K, allowed):
    logits = Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5
    return logits.masked_fill(~allowed, float("-inf")).softmax(-1)


def _weights_safe(Q, K, allowed):
    eye = torch.eye(allowed.shape[-1], dtype=torch.bool)
    no_key = ~allowed.any(-1, keepdim=True)                    # (B, L, 1): a padding query
    return _weights(Q, K, allowed | (eye & no_key))


def _last_share(last_item_prob, seed=7):
    from course_lib.models.bert4rec import ClozeWithLastItemDataset
    from course_lib.sequences import ClozeDataset

    split = _split()
    data = ClozeWithLastItemDataset(ClozeDataset(split, max_len=50, mask_prob=0.3, mask_id=split.num_items + 1),
                                    last_item_prob)
    torch.manual_seed(seed)
    labels = torch.stack([data[i][1] for i in range(len(data))])
    return float((labels[:, -1] > 0).sum() / (labels > 0).sum())


def _sampled_ranks(by_popularity):
    def ranks(recommender, split, part="test", num_negatives=100, seed=0):
        from course_lib.sequences import pad_left

        rng = np.random.default_rng(seed)
        counts = np.bincount(np.concatenate(split.train), minlength=split.num_items + 1).astype(float)
        scores = recommender.scores(pad_left(split.histories(part), 50)).cpu().numpy()
        out = []
        for u, (seen, target) in enumerate(zip(split.histories(part), split.targets(part))):
            unseen = np.setdiff1d(np.arange(1, split.num_items + 1), np.append(seen, target))
            p = counts[unseen] / counts[unseen].sum() if by_popularity else None
            negatives = rng.choice(unseen, num_negatives, replace=False, p=p)
            out.append(1 + (scores[u, negatives] >= scores[u, target]).sum())
        return np.array(out)
    return ranks


def _valid_changes():
    from course_lib.sequences import leave_one_out

    ml, split = movielens_split()
    other = leave_one_out(ml.interactions, tie_break="item_id_desc")
    return int(sum(a != b for a, b in zip(split.valid_targets.tolist(), other.valid_targets.tolist())))


CASES = [
    Case(sm.check_sasrec_windows, right=lambda: ((_windows(200),), {}), wrong=lambda: ((_windows(50),), {}),
         hint="max_len"),
    Case(sm.check_allowed_mask, right=lambda: ((_mask_right,), {}), wrong=lambda: ((_mask_no_causal,), {}),
         hint="later keys"),
    Case(sm.check_frozen_position_params, right=lambda: ((SECTION_3_PARAMS - 50 * 64,), {}),
         wrong=lambda: ((SECTION_3_PARAMS,), {}), hint="requires_grad", secret=SECTION_3_PARAMS - 50 * 64),
    Case(sm.check_padding_safe_attention, right=lambda: ((_weights_safe,), {}), wrong=lambda: ((_weights,), {}),
         hint="nan"),
    Case(sm.check_last_position_share, right=lambda: ((_last_share(0.5),), {}), wrong=lambda: ((_last_share(0.0),), {}),
         hint="last column"),
    Case(sm.check_popularity_sampled_ranks, right=lambda: ((_sampled_ranks(True),), {}),
         wrong=lambda: ((_sampled_ranks(False),), {}), hint="proportional"),
    Case(sm.check_untied_head_params, right=lambda: ((64 * 1683 + 1683,), {}), wrong=lambda: ((64 * 1683,), {}),
         hint="bias", secret=64 * 1683 + 1683),
    Case(sm.check_tie_rule_valid_changes, right=lambda: ((_valid_changes(),), {}), wrong=lambda: ((943,), {}),
         hint="valid_targets", secret=_valid_changes),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_checker_both_ways(case, capsys):
    if callable(case.secret):
        case.secret = case.secret()
    run_both_ways(case, capsys)


def test_bad_input_is_a_hint_not_a_traceback(capsys):
    assert not sm.check_sasrec_windows("many").ok
    assert not sm.check_allowed_mask(lambda seqs: 1 / 0).ok
    assert not sm.check_padding_safe_attention("not a function").ok
    assert not sm.check_popularity_sampled_ranks(lambda *a: np.zeros(3)).ok
    assert not sm.check_untied_head_params(float("nan")).ok
    assert capsys.readouterr().out.count("Hint:") == 5
