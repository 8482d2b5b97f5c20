"""Saved models (course_lib.bundle) and recommending for a person (course_lib.recommend, course recommend)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib import cli
from course_lib.bundle import FORMAT_VERSION, BundleError, load_bundle, save_bundle
from course_lib.models.bert4rec import Bert4Rec, Bert4RecConfig
from course_lib.models.sasrec import SASRec, SASRecConfig
from course_lib.recommend import TitleError, match_items, recommend, recommend_all
from course_lib.sequences import leave_one_out, pad_left

TITLES = {1: "Toy Story (1995)", 2: "GoldenEye (1995)", 3: "Four Rooms (1995)", 4: "Get Shorty (1995)",
          5: "Copycat (1995)", 6: "Hamlet (1996)", 7: "Hamlet (1948)", 8: "Fargo (1996)", 9: "Heat (1995)",
          10: "Babe (1995)", 11: "Casino (1995)", 12: "Princess Bride, The (1987)"}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    rows = [(u, int(i), t) for u in range(20) for t, i in enumerate(rng.permutation(12)[:8] + 1)]
    split = leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))
    items = pd.DataFrame({"item_id": list(TITLES), "title": list(TITLES.values())})
    return split, items


def sasrec(split, **config):
    torch.manual_seed(0)
    return SASRec(SASRecConfig(num_items=split.num_items, max_len=6, hidden_dim=16, num_heads=1, num_layers=1,
                               **config)).eval()


@pytest.fixture
def bundle_dir(data, tmp_path):
    split, items = data
    return save_bundle(tmp_path / "sasrec", sasrec(split), split, items, name="sasrec", metrics={"valid": {"ndcg@10": 0.1}})


def test_round_trip_gives_identical_scores(data, tmp_path):
    split, items = data
    seqs = pad_left(split.histories("test"), 6)
    for name, model in [("sasrec", sasrec(split)),
                        ("bert4rec", Bert4Rec(Bert4RecConfig(num_items=split.num_items, max_len=6, hidden_dim=16,
                                                             num_heads=2, num_layers=1)).eval())]:
        folder = save_bundle(tmp_path / name, model, split, items, name=name)
        loaded = load_bundle(folder, device="cpu")
        assert type(loaded.model) is type(model) and not loaded.model.training
        assert torch.equal(loaded.model.scores(seqs), model.scores(seqs))
        assert loaded.item_ids.tolist() == split.item_ids.tolist()
        assert loaded.titles[split.item_index[8]] == "Fargo (1996)" and loaded.meta["tie_break"] == split.tie_break
    assert not list(tmp_path.glob("*.part"))


def test_a_course_sized_sasrec_bundle_is_small(data, tmp_path):
    rows = [(u, (9 * u + t) % 1682 + 1, t) for u in range(200) for t in range(9)]     # every one of 1,682 items
    split = leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))
    items = pd.DataFrame({"item_id": range(1, 1683), "title": [f"Film {i}" for i in range(1, 1683)]})
    assert split.num_items == 1682
    model = SASRec(SASRecConfig(num_items=1682))          # the course defaults on ML-100k's catalogue
    folder = save_bundle(tmp_path / "big", model, split, items, name="sasrec")
    with pytest.raises(BundleError, match="the model has 1682 items but the split 12"):
        save_bundle(tmp_path / "mismatch", model, data[0], data[1], name="sasrec")
    assert (folder / "weights.safetensors").stat().st_size < 5 * 2**20


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "weights.safetensors").write_bytes((f / "weights.safetensors").read_bytes()[:500]), "truncated"),
    (lambda f: (f / "weights.safetensors").unlink(), "incomplete"),
    (lambda f: (f / "bundle.json").write_text("{not json"), "not valid JSON"),
    (lambda f: _edit(f, format_version=FORMAT_VERSION + 1), "bundle format"),
    (lambda f: _edit(f, config_hidden_dim=32), "does not fit the configuration"),
    (lambda f: _edit(f, config_num_heads=3), "does not build"),
])
def test_damaged_bundles_are_refused_with_the_reason(bundle_dir, damage, message):
    damage(bundle_dir)
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_dir, device="cpu")


def _edit(folder, **changes):
    meta = json.loads((folder / "bundle.json").read_text())
    for key, value in changes.items():
        if key.startswith("config_"):
            meta["config"][key.removeprefix("config_")] = value
        else:
            meta[key] = value
    (folder / "bundle.json").write_text(json.dumps(meta))


def test_saving_again_replaces_the_bundle_and_other_models_are_refused(data, bundle_dir, tmp_path):
    split, items = data
    save_bundle(bundle_dir, sasrec(split, dropout=0.1), split, items, name="sasrec")
    assert load_bundle(bundle_dir, device="cpu").meta["config"]["dropout"] == 0.1
    with pytest.raises(BundleError, match="cannot bundle"):
        save_bundle(tmp_path / "x", torch.nn.Linear(2, 2), split, items, name="linear")
    with pytest.raises(BundleError, match="not a bundle"):
        load_bundle(tmp_path / "nothing-here")


def test_titles_match_without_case_or_year_and_ids_work(data):
    split, items = data
    ids, titles = split.item_ids, np.array([""] + [TITLES[i] for i in split.item_ids[1:]], dtype=object)
    found = match_items(["fargo", "TOY STORY (1995)", "Hamlet (1948)", "9", "The Princess Bride",
                         "princess bride, the (1987)", "the princess bride (1987)"], ids, titles)
    assert [int(ids[i]) for i in found] == [8, 1, 7, 9, 12, 12, 12]
    with pytest.raises(TitleError, match="matches 2 items.*Add the year"):
        match_items(["hamlet"], ids, titles)
    with pytest.raises(TitleError, match="closest titles: Fargo"):
        match_items(["fargoo"], ids, titles)
    with pytest.raises(TitleError, match="item id 999"):
        match_items(["999"], ids, titles)


def test_recommend_never_returns_the_history_and_breaks_ties_by_id(bundle_dir):
    bundle = load_bundle(bundle_dir, device="cpu")
    table = recommend(bundle, ["Fargo", "Heat (1995)", "babe"], k=20)
    assert not {8, 9, 10} & set(table["item_id"]) and len(table) == 12 - 3
    assert table["score"].is_monotonic_decreasing and list(table["rank"]) == list(range(1, 10))
    assert all(isinstance(b, list) and len(b) <= 2 for b in table["because"])
    with torch.no_grad():                                            # every score equal: ties go by item id
        bundle.model.gpt.ln_f.weight.zero_(); bundle.model.gpt.ln_f.bias.zero_()
    tied = recommend(bundle, ["Fargo"], k=3, reasons=0)
    internal = [int(np.where(bundle.item_ids == i)[0][0]) for i in tied["item_id"]]
    assert internal == sorted(internal) and tied["score"].nunique() == 1
    with pytest.raises(TitleError, match="empty"):
        recommend(bundle, [], k=3)


def test_recommend_all_covers_every_user_without_their_history(data, bundle_dir):
    split, _ = data
    bundle = load_bundle(bundle_dir, device="cpu")
    top = recommend_all(bundle, split, k=3)
    assert top.shape == (split.num_users, 3)
    for user, history in enumerate(split.histories("test")):
        assert not set(top[user]) & set(split.item_ids[history].tolist())


def test_course_recommend_prints_and_fails_clearly(bundle_dir, capsys):
    assert cli.main(["recommend", str(bundle_dir), "--history", "Fargo", "Heat", "-k", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "sasrec" and len(out["recommendations"]) == 3
    assert cli.main(["recommend", str(bundle_dir), "--history", "Fargo", "-k", "2"]) == 0
    assert "top 2 after 1 item" in capsys.readouterr().out
    assert cli.main(["recommend", str(bundle_dir), "--history", "Hamlet"]) == 2
    assert "matches 2 items" in capsys.readouterr().err
    assert cli.main(["recommend", str(bundle_dir / "missing"), "--history", "Fargo"]) == 2


def test_course_train_save_refuses_models_without_bundles(capsys):
    assert cli.main(["train", "random", "--save", "somewhere", "--no-record"]) == 2
    assert "cannot be saved yet" in capsys.readouterr().err


def test_count_and_embedding_models_round_trip_and_explain_in_their_own_terms(data, tmp_path, capsys):
    from course_lib.embeddings.recommender import EmbeddingRecommender
    from course_lib.models.itemknn import ItemKNNRecommender
    from course_lib.models.markov import MarkovRecommender
    from course_lib.models.popularity import PopularityRecommender

    split, items = data
    vectors = np.random.default_rng(0).normal(size=(split.num_items + 1, 4))
    models = {"pop": PopularityRecommender().fit(split), "markov": MarkovRecommender(beta=5.0).fit(split),
              "itemknn": ItemKNNRecommender(num_recent=3).fit(split),
              "item2vec": EmbeddingRecommender(vectors, decay=0.5)}
    seqs = pad_left(split.histories("test"), 6)
    for name, model in models.items():
        loaded = load_bundle(save_bundle(tmp_path / name, model, split, items, name=name))
        assert type(loaded.model) is type(model)
        assert torch.equal(loaded.model.scores(seqs), model.scores(seqs)), name
    assert cli.main(["recommend", str(tmp_path / "markov"), "--history", "Fargo", "-k", "2", "--json"]) == 0
    markov = json.loads(capsys.readouterr().out)["recommendations"]
    assert all(r["because"] in ([], ["Fargo (1996)"]) for r in markov)
    assert recommend(load_bundle(tmp_path / "pop"), ["Fargo", "Heat"], k=3)["because"].map(len).sum() == 0
    from safetensors.torch import load_file, save_file
    tensors = load_file(str(tmp_path / "markov" / "weights.safetensors"))
    del tensors["popularity"]
    save_file(tensors, str(tmp_path / "markov" / "weights.safetensors"))
    with pytest.raises(BundleError, match="no tensor 'popularity'"):
        load_bundle(tmp_path / "markov")
