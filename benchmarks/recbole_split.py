"""Record RecBole 1.2.1's own leave-one-out targets on ML-100k, to check the course's ``tie_break="recbole"``.

    pip install --target /tmp/recbole --no-deps recbole==1.2.1 colorlog colorama texttable tabulate
    python benchmarks/recbole_split.py --recbole-path /tmp/recbole      # writes tests/fixtures/recbole-...tsv

Runs only RecBole's data pipeline (``create_dataset`` + ``build``; no model, no training) with the settings of
the README's RecBole reference runs: all 100,000 ratings, ``eval_args`` = leave-one-out by time (``LS``,
``valid_and_test``, order ``TO``), the ml-100k config that ships with RecBole (which sets
``normalize_all: True``). Writes one line per user: ``user_id, valid_item, test_item`` (raw GroupLens ids).
``tests/test_data_movielens.py`` compares the course's split with this file.

RecBole 1.2.1 predates NumPy 2 and imports optional packages at start-up (tensorboard, thop, ray, plotly),
none of which the data pipeline uses; the script aliases the removed NumPy names and stubs those modules so
it runs in the course's environment without installing them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

from course_lib.files import write_text

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "recbole-1.2.1-ml-100k-targets.tsv"


def import_recbole(path: str | None):
    """Import RecBole's data API, with NumPy 2 aliases and stubs for the optional imports it never uses here."""
    if path:
        sys.path.insert(0, path)
    for name, alias in (("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)):
        if name not in np.__dict__:
            setattr(np, name, alias)
    tensorboard = types.ModuleType("torch.utils.tensorboard")
    tensorboard.SummaryWriter = object
    sys.modules.setdefault("torch.utils.tensorboard", tensorboard)
    for name in ("thop", "ray", "ray.tune", "plotly", "plotly.graph_objects"):
        sys.modules.setdefault(name, types.ModuleType(name))
    from recbole.config import Config
    from recbole.data import create_dataset
    return Config, create_dataset


def recbole_targets(recbole_path: str | None) -> list[tuple[int, int, int]]:
    """(user, valid item, test item) per user, raw ids, as RecBole 1.2.1 splits its bundled ml-100k."""
    Config, create_dataset = import_recbole(recbole_path)
    import recbole
    data_path = Path(recbole.__file__).parent / "dataset_example"
    with tempfile.TemporaryDirectory() as work:
        config = Config(model="SASRec", dataset="ml-100k", config_dict={
            "data_path": str(data_path), "checkpoint_dir": work, "show_progress": False,
            "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
            "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
            "train_neg_sample_args": None, "loss_type": "CE", "MAX_ITEM_LIST_LENGTH": 50})
        dataset = create_dataset(config)
        _, valid, test = dataset.build()
    users, items = dataset.field2id_token["user_id"], dataset.field2id_token["item_id"]

    def targets(part) -> dict[int, int]:
        feat = part.inter_feat
        return {int(users[u]): int(items[i]) for u, i in zip(feat["user_id"].tolist(), feat["item_id"].tolist())}

    valid_items, test_items = targets(valid), targets(test)
    return [(u, valid_items[u], test_items[u]) for u in sorted(test_items)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recbole-path", default=None, help="folder holding the recbole package (pip --target)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = recbole_targets(args.recbole_path)
    write_text(args.out, "user_id\tvalid_item\ttest_item\n" + "".join(f"{u}\t{v}\t{t}\n" for u, v, t in rows))
    print(f"wrote {len(rows)} users to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
