"""benchmarks/peer_recbole.py and its RecBole worker, without RecBole: the config per model, the results file
(both sides, ratios, ``converged``), saving after each side, ``--resume``, the atomic write, the setup step."""

import json
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import peer_recbole as peer  # noqa: E402
import peer_recbole_worker as worker  # noqa: E402

SASREC_YAML = """n_layers: 2                     # (int) The number of transformer layers in transformer encoder.
hidden_size: 64                 # (int) The number of features in the hidden state.
loss_type: 'CE'                 # (str) The type of loss function. Range in ['BPR', 'CE']."""
BPR_YAML = "embedding_size: 64\nloss_type: BPR\n"


def recbole_row(model="SASRec", ndcg=0.05, hr=0.10, seconds=100.0, stopped_early=True, epochs=40) -> dict:
    """What the worker prints for one model (the fields peer_recbole reads)."""
    return {"model": model, "epochs": epochs, "epochs_to_best": epochs - 11, "seconds_to_best": seconds,
            "total_seconds": seconds * 1.3, "seconds_per_epoch": 2.0, "peak_memory_mb": 900.0,
            "valid_ndcg@10": 0.1, "test_kept_ndcg@10": ndcg, "test_kept_hr@10": hr, "stopped_early": stopped_early,
            "device": "cpu", "versions": {"recbole": "1.2.1", "torch": "2.13.0+cpu", "numpy": "1.26.4"}}


def course_result(recipe="sasrec", seeds=(0, 1), ndcg=(0.06, 0.07), seconds=(40.0, 60.0)) -> dict:
    """What the course side's process prints for one recipe."""
    runs = [{"seed": s, "epochs": 30, "epochs_to_best": 24, "seconds_to_best": t, "total_seconds": t + 10,
             "seconds_per_epoch": 1.5, "peak_memory_mb": 800.0, "valid_ndcg@10": 0.11, "test_kept_ndcg@10": n,
             "test_kept_hr@10": 2 * n} for s, n, t in zip(seeds, ndcg, seconds)]
    return {"recipe": recipe, "device": "cpu (2 cores)", "runs": runs,
            "versions": {"torch": "2.13.0+cpu", "numpy": "2.4.6"}}


# ------------------------------------------------------------------------------------------ the worker's config

@pytest.mark.parametrize("model", ["SASRec", "GRU4Rec", "BERT4Rec"])
def test_config_dict_holds_the_protocol_and_full_cross_entropy_for_a_ce_model(model):
    config = worker.config_dict(model, epochs=300, patience=10, seed=2020, data_path="/d", checkpoint_dir="/c",
                                loss_type="CE", use_gpu=False)
    assert config["eval_args"] == {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full",
                                   "group_by": "user"}
    assert config["load_col"] == {"inter": ["user_id", "item_id", "rating", "timestamp"]}
    assert (config["MAX_ITEM_LIST_LENGTH"], config["epochs"], config["stopping_step"], config["eval_step"]) == \
        (50, 300, 10, 1)
    assert (config["valid_metric"], config["metrics"], config["topk"]) == ("NDCG@10", ["Hit", "NDCG"], [10])
    assert config["train_neg_sample_args"] is None and config["loss_type"] == "CE"
    assert (config["seed"], config["show_progress"], config["use_gpu"]) == (2020, False, False)
    assert (config["data_path"], config["checkpoint_dir"]) == ("/d", "/c")
    # RecBole's model settings stay its defaults: the dict names none of them
    assert not {"hidden_size", "n_layers", "dropout_prob", "learning_rate", "train_batch_size"} & set(config)


def test_config_dict_keeps_negative_sampling_for_a_model_whose_default_loss_is_not_ce():
    config = worker.config_dict("BPR", epochs=5, patience=2, seed=0, data_path="/d", checkpoint_dir="/c",
                                loss_type="BPR", use_gpu=True)
    assert "train_neg_sample_args" not in config and "loss_type" not in config and config["use_gpu"]


def test_default_loss_type_reads_recbole_model_yaml():
    assert worker.default_loss_type(SASREC_YAML) == "CE"
    assert worker.default_loss_type(BPR_YAML) == "BPR"
    assert worker.default_loss_type("hidden_size: 64\n") is None
    assert worker._yaml_keys(SASREC_YAML) == ["n_layers", "hidden_size", "loss_type"]


# ------------------------------------------------------------------------------------------ the results file

def test_converged_only_when_early_stopping_fired():
    assert peer.recbole_side(recbole_row(stopped_early=True))["converged"] is True
    assert peer.recbole_side(recbole_row(stopped_early=False, epochs=300))["converged"] is False


def test_ratios_are_course_mean_over_recbole():
    course = peer.course_side(course_result(ndcg=(0.06, 0.07), seconds=(40.0, 60.0)))
    got = peer.ratios(recbole_row(ndcg=0.05, hr=0.10, seconds=100.0), course)
    assert got["test_kept_ndcg@10"] == pytest.approx(0.065 / 0.05)
    assert got["test_kept_hr@10"] == pytest.approx(0.13 / 0.10)
    assert got["seconds_to_best"] == pytest.approx(0.5)
    assert peer.ratios(recbole_row(ndcg=0.0), course)["test_kept_ndcg@10"] is None
    assert course["summary"]["test_kept_ndcg@10"]["std"] == pytest.approx(0.0070711, abs=1e-6)


def test_last_json_line_skips_log_lines_and_fails_clearly():
    assert peer.last_json_line('INFO starting\n{"a": 1}\nnoise\n{"b": 2}\n', "w") == {"b": 2}
    with pytest.raises(RuntimeError, match="RecBole SASRec printed no JSON"):
        peer.last_json_line("only a log\n", "RecBole SASRec")


@pytest.fixture
def fake_sides(monkeypatch, tmp_path):
    """Both sides replaced by recorded fakes; returns the list of calls."""
    calls = []
    monkeypatch.setattr(peer, "venv_python", lambda: tmp_path / "python")

    def fake_recbole(model, epochs, patience, seed, python):
        calls.append(("recbole", model, epochs, patience, seed))
        return recbole_row(model, stopped_early=epochs > 2)

    def fake_course(recipe, seeds, fast):
        calls.append(("course", recipe, tuple(seeds), fast))
        return course_result(recipe, seeds=seeds, ndcg=[0.06] * len(seeds), seconds=[50.0] * len(seeds))

    monkeypatch.setattr(peer, "run_recbole", fake_recbole)
    monkeypatch.setattr(peer, "run_course", fake_course)
    return calls


def test_main_writes_both_sides_ratios_settings_and_command(fake_sides, tmp_path, capsys):
    out = tmp_path / "peer.json"
    assert peer.main(["--models", "SASRec", "GRU4Rec", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert fake_sides == [("recbole", "SASRec", 300, 10, 2020), ("course", "sasrec", (0, 1, 2), False),
                          ("recbole", "GRU4Rec", 300, 10, 2020), ("course", "gru4rec", (0, 1, 2), False)]
    entry = report["models"]["SASRec"]
    assert entry["recbole"]["converged"] is True and entry["recbole"]["test_kept_ndcg@10"] == 0.05
    assert [r["seed"] for r in entry["course"]["runs"]] == [0, 1, 2]
    assert entry["course"]["summary"]["test_kept_ndcg@10"]["mean"] == pytest.approx(0.06)
    assert entry["ratios"]["test_kept_ndcg@10"] == pytest.approx(1.2)
    assert report["settings"]["recbole_max_epochs"] == 300 and report["settings"]["recbole_patience"] == 10
    assert report["versions"]["recbole_env"]["recbole"] == "1.2.1"
    assert report["versions"]["course_env"]["numpy"] == "2.4.6"
    assert report["command"].startswith("python benchmarks/peer_recbole.py --models SASRec GRU4Rec")
    assert "course/RecBole: test NDCG@10 1.20" in capsys.readouterr().out


def test_fast_caps_epochs_at_two_with_one_seed_and_its_own_file(fake_sides, tmp_path):
    args = peer.parse(["--fast"])
    assert (args.max_epochs, args.seeds, args.out.name) == (2, [0], "peer-recbole-fast.json")
    out = tmp_path / "fast.json"
    peer.main(["--fast", "--models", "SASRec", "--out", str(out)])
    assert fake_sides == [("recbole", "SASRec", 2, 10, 2020), ("course", "sasrec", (0,), True)]
    report = json.loads(out.read_text())
    assert report["fast"] is True and report["models"]["SASRec"]["recbole"]["converged"] is False
    assert "(cap reached)" in peer.table(report)


def test_an_interrupted_run_keeps_what_finished_and_resume_skips_it(fake_sides, tmp_path, monkeypatch):
    out = tmp_path / "peer.json"
    course = peer.run_course

    def course_dies_on_gru4rec(recipe, seeds, fast):
        if recipe == "gru4rec":
            raise KeyboardInterrupt
        return course(recipe, seeds, fast)

    monkeypatch.setattr(peer, "run_course", course_dies_on_gru4rec)
    with pytest.raises(KeyboardInterrupt):
        peer.main(["--out", str(out)])
    saved = json.loads(out.read_text())["models"]
    assert set(saved) == {"SASRec", "GRU4Rec"} and set(saved["GRU4Rec"]) == {"recbole"}
    assert {"recbole", "course", "ratios"} <= set(saved["SASRec"])
    fake_sides.clear()
    monkeypatch.setattr(peer, "run_course", course)
    peer.main(["--resume", "--out", str(out)])
    assert fake_sides == [("course", "gru4rec", (0, 1, 2), False), ("recbole", "BERT4Rec", 300, 10, 2020),
                          ("course", "bert4rec", (0, 1, 2), False)]
    report = json.loads(out.read_text())
    assert set(report["models"]) == {"SASRec", "GRU4Rec", "BERT4Rec"}
    assert all("ratios" in entry for entry in report["models"].values())
    assert "--resume" not in report["command"]


def test_resume_refuses_a_file_with_other_settings(fake_sides, tmp_path):
    out = tmp_path / "peer.json"
    peer.main(["--models", "SASRec", "--max-epochs", "50", "--out", str(out)])
    with pytest.raises(ValueError, match="cannot --resume"):
        peer.main(["--resume", "--models", "GRU4Rec", "--out", str(out)])


def test_the_results_file_is_written_atomically(tmp_path, monkeypatch):
    out = tmp_path / "peer.json"
    peer.write_json({"models": {"SASRec": 1}}, out)
    real_write_text = Path.write_text

    def dies_halfway(self, text, *args, **kwargs):
        real_write_text(self, text[:10], *args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", dies_halfway)
    with pytest.raises(OSError):
        peer.write_json({"models": {"SASRec": 1, "GRU4Rec": 2}}, out)
    monkeypatch.undo()
    assert json.loads(out.read_text()) == {"models": {"SASRec": 1}}
    assert [p.name for p in tmp_path.iterdir()] == ["peer.json"]


# ------------------------------------------------------------------------------------------ the environment

def test_a_missing_recbole_environment_says_how_to_make_it(tmp_path, monkeypatch):
    with pytest.raises(peer.MissingRecBole, match=r"run python benchmarks/peer_recbole.py --setup first"):
        peer.venv_python(tmp_path / ".venv-recbole")
    monkeypatch.setattr(peer, "VENV", tmp_path / ".venv-recbole")
    with pytest.raises(peer.MissingRecBole, match="--setup first"):
        peer.main(["--models", "SASRec", "--out", str(tmp_path / "x.json")])
    assert not (tmp_path / "x.json").exists()


def test_setup_installs_torch_first_then_recbole_and_is_idempotent(tmp_path, monkeypatch):
    venv, commands, versions = tmp_path / ".venv-recbole", [], iter([None, "1.2.1", "1.2.1", "1.2.1"])
    monkeypatch.setattr(peer.subprocess, "run", lambda command, check: commands.append(command))
    monkeypatch.setattr(peer, "recbole_version", lambda python: next(versions))
    monkeypatch.setattr(peer.importlib.metadata, "version", lambda name: "2.13.0+cpu")
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    peer.setup(venv)                                           # recbole missing: build
    assert commands[0][1:] == ["-m", "venv", str(venv)]
    assert commands[1][-1] == "torch==2.13.0"                  # the course's torch, without the +cpu label
    assert commands[2][-4:] == ["recbole==1.2.1", "numpy<2", "pandas<2.2", "scipy<1.13"]
    commands.clear()
    peer.setup(venv)                                           # already there: nothing to do
    assert commands == []
    peer.setup(tmp_path / "other", torch_spec="torch==2.13.0+cu128")
    assert commands[1][-1] == "torch==2.13.0+cu128"


def test_course_side_calls_seeds_run_seed_with_the_fast_epoch_cap(monkeypatch):
    import seeds

    from course_lib.recipes import run as recipe_run
    calls = []
    monkeypatch.setattr(recipe_run, "load_split", lambda dataset, split: (dataset, split))
    monkeypatch.setattr(seeds, "run_seed", lambda name, split, seed, fast, device, overrides=None: calls.append(
        (name, split, seed, fast, overrides)) or {"seed": seed, "epochs": 2, "test_kept_ndcg@10": 0.05})
    result = peer.course_runs("gru4rec", [0, 1], fast=True)
    assert calls == [("gru4rec", ("ml-100k", "recbole"), s, True, {"num_epochs": 2}) for s in (0, 1)]
    assert [r["seed"] for r in result["runs"]] == [0, 1] and "torch" in result["versions"]
    peer.course_runs("gru4rec", [0], fast=False)
    assert calls[-1][-1] is None


def test_run_seed_applies_overrides_after_the_fast_ones(monkeypatch):
    import seeds
    seen = {}

    def train_sasrec(split, seed, progress, **settings):
        seen.update(settings)
        return {"recommender": None, "params": {"max_len": 5}, "epochs": 2, "epochs_to_best": 2,
                "seconds_to_best": 1.0, "seconds_per_epoch": 0.5, "total_seconds": 1.0, "valid": {"ndcg@10": 0.1}}

    module = types.SimpleNamespace(FAST_OVERRIDES={"num_epochs": 4, "patience": 2}, train_sasrec=train_sasrec)
    metrics = {"hr@10": 0.2, "ndcg@10": 0.1, "mrr": 0.05}
    monkeypatch.setattr(seeds, "recipe_module", lambda name: module)
    monkeypatch.setattr(seeds, "evaluate_parts", lambda *a, **k: {"test_history_kept": metrics, "test": metrics})
    import torch
    row = seeds.run_seed("sasrec-bce", None, 0, True, torch.device("cpu"), overrides={"num_epochs": 2})
    assert seen == {"loss": "bce", "num_epochs": 2, "patience": 2} and row["test_kept_ndcg@10"] == 0.1
