"""``course train`` on a tiny synthetic split (no real dataset needed)."""

import dataclasses
import json

import pytest

from course_lib import cli, recipes, results
from course_lib.commands import train


@pytest.mark.parametrize("name", ["random", "pop", "markov", "itemknn"])
def test_run_training_report(tiny_split, name):
    report = train.run_training(name, tiny_split, seed=1, fast=True)
    printed = report.to_dict()
    for key in ("model", "dataset", "seed", "valid", "test", "test_history_kept", "epochs",
                "seconds_per_epoch", "total_seconds", "max_len"):
        assert key in printed
    assert "recommender" not in printed and "test_ranks" not in printed
    assert report.model == name and report.seed == 1 and len(report.test_ranks) == tiny_split.num_users
    assert 0.0 <= report.test["ndcg@10"] <= report.test["hr@10"] <= 1.0
    low, high = report.test_ci["ndcg@10"]
    assert low <= report.test["ndcg@10"] <= high
    json.dumps(printed, default=train._json_default)         # serialisable


def test_markov_beats_random_on_a_sequential_log(tiny_split):
    markov = train.run_training("markov", tiny_split, seed=0, fast=True).test["hr@10"]
    rand = train.run_training("random", tiny_split, seed=0, fast=True).test["hr@10"]
    assert markov == 1.0 and rand < 0.9


def test_cli_json_and_results_store(tiny_split, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(train, "load_split", lambda dataset, split="course": tiny_split)
    monkeypatch.delenv("COURSE_FAST", raising=False)          # conftest sets it; the command must say so
    store = tmp_path / "results.json"
    assert cli.main(["train", "pop", "--json", "--seed", "3", "--results", str(store)]) == 0
    report = json.loads(capsys.readouterr().out)              # stdout holds exactly one JSON object
    assert report["model"] == "pop" and report["seed"] == 3
    assert set(report["test"]) >= {"hr@10", "ndcg@10", "mrr"}
    rows = results.load_results(store)
    assert {r["protocol"] for r in rows} == {"full ranking, history removed", "full ranking, history kept"}
    assert rows[0]["command"] == "course train pop --dataset ml-100k --seed 3 --json"
    assert cli.main(["train", "pop", "--json", "--seed", "3", "--results", str(store)]) == 0
    assert len(results.load_results(store)) == 2              # same key: replaced, not appended
    table = results.leaderboard(store)
    assert table.index.tolist() == ["pop"] and table.loc["pop", "ndcg@10"] == pytest.approx(report["test"]["ndcg@10"])


def test_cli_table_and_unknown_model(tiny_split, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(train, "load_split", lambda dataset, split="course": tiny_split)
    assert cli.main(["train", "markov", "--no-record"]) == 0
    out = capsys.readouterr().out
    assert "test (history removed)" in out and "ndcg@10" in out
    assert cli.main(["train", "no-such-model"]) == 2
    assert "known models" in capsys.readouterr().err


def test_cli_recbole_split_is_labelled(tiny_split, monkeypatch, tmp_path, capsys):
    with pytest.raises(ValueError, match="split"):
        train.load_split("ml-100k", "random")
    asked, recbole_split = [], dataclasses.replace(tiny_split, tie_break="recbole")
    monkeypatch.setattr(train, "load_split", lambda dataset, split="course": asked.append(split) or recbole_split)
    store = tmp_path / "results.json"
    assert cli.main(["train", "pop", "--json", "--split", "recbole", "--results", str(store)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert asked == ["recbole"] and report["split"] == "recbole"
    rows = results.load_results(store)
    assert {r["protocol"] for r in rows} == {"full ranking, history removed (RecBole's split)",
                                             "full ranking, history kept (RecBole's split)"}
    assert "--split recbole" in rows[0]["command"]
    assert results.leaderboard(store).empty                    # not mixed into the course split's table


def test_every_registered_trainer_resolves():
    for name in recipes.REGISTRY:
        assert callable(recipes.get_trainer(name)), name


def test_leaderboard_means_over_seeds(tmp_path):
    store = tmp_path / "r.json"
    for seed, value in ((0, 0.1), (1, 0.3)):
        results.record("m", "ml-100k", {"ndcg@10": value}, seed=seed, path=store)
    results.record("n", "ml-100k", {"ndcg@10": 0.25}, seed=0, path=store)
    table = results.leaderboard(store, fast=False)
    assert table.index.tolist() == ["n", "m"]
    assert table.loc["m", "seeds"] == 2 and table.loc["m", "ndcg@10"] == pytest.approx(0.2)
    assert table.loc["m", "ndcg@10_std"] == pytest.approx(0.2 / 2 ** 0.5)    # sample std (n - 1)
    assert table.loc["n", "ndcg@10_std"] == 0.0                               # one seed: no spread
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        results.load_results(tmp_path / "bad.json")


def test_fast_rows_never_replace_or_join_full_mode_rows(tmp_path, monkeypatch):
    store = tmp_path / "r.json"
    results.record("m", "ml-100k", {"ndcg@10": 0.2}, seed=0, path=store)                # full mode
    results.record("m", "ml-100k", {"ndcg@10": 0.01}, seed=0, fast=True, path=store)    # same key, FAST
    assert len(results.load_results(store)) == 2
    assert results.leaderboard(store, fast=False).loc["m", "ndcg@10"] == pytest.approx(0.2)
    assert results.leaderboard(store, fast=True).loc["m", "ndcg@10"] == pytest.approx(0.01)
    monkeypatch.setenv("COURSE_FAST", "1")                                              # default: current mode
    assert results.leaderboard(store).loc["m", "ndcg@10"] == pytest.approx(0.01)
    monkeypatch.delenv("COURSE_FAST")
    assert results.leaderboard(store).loc["m", "ndcg@10"] == pytest.approx(0.2)
    old_row = {"model": "old", "dataset": "ml-100k", "protocol": results.DEFAULT_PROTOCOL, "split": "test",
               "seed": 0, "command": None, "ndcg@10": 0.3}                                # written before "fast"
    store.write_text(json.dumps(results.load_results(store) + [old_row]))
    assert "old" in results.leaderboard(store, fast=False).index
    results.record("old", "ml-100k", {"ndcg@10": 0.31}, seed=0, path=store)              # replaces it
    assert [r["ndcg@10"] for r in results.load_results(store) if r["model"] == "old"] == [0.31]


def test_deterministic_switch_repeats_a_neural_run_exactly(tiny_split, monkeypatch, capsys):
    monkeypatch.setattr(train, "load_split", lambda dataset, split="course": tiny_split)
    runs = []
    for _ in range(2):
        assert cli.main(["train", "sasrec", "--fast", "--deterministic", "--json", "--no-record", "--seed", "0"]) == 0
        runs.append(json.loads(capsys.readouterr().out))
    assert runs[0]["deterministic"] and runs[0]["test"] == runs[1]["test"] and runs[0]["valid"] == runs[1]["valid"]
    assert train.Report(**runs[0]).command().endswith("--fast --deterministic --json")
