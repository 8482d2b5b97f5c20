"""Every number in the README's results tables comes from a committed file under benchmarks/results/.

Each README row is parsed and compared, to the digits it shows, with the file its command wrote: a rerun that
changes a file without updating the README (or an edited README number) fails here.
"""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def row(label: str) -> list[str]:
    """The cells of the README table row whose first cell starts with ``label``."""
    for line in README.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith(label):
            return cells[1:]
    raise AssertionError(f"no README table row starts with {label!r}")


def numbers(cell: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+\.\d+|\d+", cell)]


def load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def shown(value: float, cell_value: float, digits: int = 4) -> bool:
    return round(value, digits) == pytest.approx(cell_value, abs=10 ** -digits / 2)


BASELINES = {"Random": "random", "Most popular": "pop", "Markov chain": "markov", "Item-KNN": "itemknn",
             "item2vec": "item2vec", "GloVe": "glove"}


@pytest.mark.parametrize("label", list(BASELINES))
def test_baseline_rows_match_baselines_json(label):
    report = load("baselines.json")
    assert not report["fast"] and report["split"] == "course"
    result = next(r for r in report["rows"] if r["model"] == BASELINES[label])
    hr, ndcg, kept = (numbers(c)[0] for c in row(label)[:3])
    expected = (result["test"]["hr@10"], result["test"]["ndcg@10"], result["test_history_kept"]["ndcg@10"])
    assert all(shown(e, v) for e, v in zip(expected, (hr, ndcg, kept))), (label, expected, (hr, ndcg, kept))


@pytest.mark.parametrize("label, file", [("SASRec, full CE", "sasrec.json"), ("BERT4Rec (mean", "bert4rec.json"),
                                         ("GRU4Rec (mean", "gru4rec.json")])
def test_neural_rows_match_their_benchmark_files(label, file):
    summary = load(file)["summary"]
    cells = row(label)
    for cell, key in zip(cells[:3], ("test_removed_hr@10", "test_removed_ndcg@10", "test_kept_ndcg@10")):
        mean, std = numbers(cell)
        assert shown(summary[key]["mean"], mean) and shown(summary[key]["std"], std), (label, key, cell)


@pytest.mark.parametrize("label, file", [("Course SASRec", "sasrec-recbole-split.json"),
                                         ("Course BERT4Rec", "bert4rec-recbole-split.json"),
                                         ("Course GRU4Rec", "gru4rec-recbole-split.json")])
def test_recbole_split_rows_match_their_benchmark_files(label, file):
    report = load(file)
    assert report["split"] == "recbole"
    for cell, key in zip(row(label)[:2], ("test_kept_ndcg@10", "test_kept_hr@10")):
        mean, std = numbers(cell)
        assert shown(report["summary"][key]["mean"], mean) and shown(report["summary"][key]["std"], std), (label, key)
    recbole = {"SASRec": 0.0520, "GRU4Rec": 0.0481}[row(label)[2].split()[-1]]       # RecBole 1.2.1's row above
    assert numbers(row("RecBole 1.2.1")[0]) == [0.0520, 0.0481]
    ratio = numbers(row(label)[2])[0]
    assert shown(report["summary"]["test_kept_ndcg@10"]["mean"] / recbole, ratio, 2), (label, ratio)


TEXT_ROWS = {"ID-only SASRec": "sasrec", "frozen text + projection": "sasrec-text",
             "text-initialised IDs": "sasrec-textinit", "ID + text fusion": "sasrec-fusion"}


@pytest.mark.parametrize("label", list(TEXT_ROWS))
def test_text_variant_rows_match_text_variants_json(label):
    runs = pd.DataFrame(load("text-variants.json")["runs"])
    mine = runs[runs.variant == TEXT_ROWS[label]]
    assert len(mine) == 3
    valid, (test, test_sd), hr, (head, tail) = (numbers(c) if i in (1, 3) else numbers(c)[0]
                                               for i, c in enumerate(row(label)[:4]))
    expected = [(mine["valid_ndcg@10"].mean(), valid), (mine["ndcg@10_all"].mean(), test),
                (mine["ndcg@10_all"].std(), test_sd), (mine["hr@10_all"].mean(), hr),
                (mine["ndcg@10_head"].mean(), head), (mine["ndcg@10_tail"].mean(), tail)]
    assert all(shown(e, v) for e, v in expected), (label, expected)


COLD_ROWS = {"text zero-shot |": "text-zeroshot", "ID-only SASRec |": "sasrec", "frozen text + projection |":
             "sasrec-text", "… trained with never-seen": "sasrec-text-masked", "ID + text fusion |": "sasrec-fusion",
             "… with `mask_unseen=True`": "sasrec-fusion-masked"}


@pytest.mark.parametrize("label", list(COLD_ROWS))
def test_cold_start_rows_match_text_variants_json(label):
    cold = {r["model"]: r for r in load("text-variants.json")["cold_start"]}[COLD_ROWS[label]]
    lines = [line for line in README.split("HR@10 on cold / warm targets:")[1].splitlines()
             if line.startswith("| " + label.removesuffix(" |").strip())]
    cells = [c.strip() for c in lines[0].strip().strip("|").split("|")][1:]
    assert shown(cold["hr@10_cold"], float(cells[0]), 3) and shown(cold["hr@10_warm"], float(cells[1]), 3), label


def test_determinism_numbers_match_determinism_json():
    report = load("determinism-sasrec.json")
    default, exact = ([r["test"]["ndcg@10"] for r in report["runs"] if r["deterministic"] is d] for d in (False, True))
    text = README.split("**Bit-reproducible runs:**")[1].split("\n- ")[0]
    first, second = (float(x) for x in re.search(r"test NDCG@10 (\d\.\d+) and (\d\.\d+)", text).groups())
    assert shown(default[0], first) and shown(default[1], second)
    assert report["identical_deterministic"] and shown(exact[0], float(re.search(r"\((\d\.\d+) twice\)", text)[1]))
    assert shown(report["cost"], float(re.search(r"at (\d\.\d+)× the time", text)[1]), 2)


def test_leaderboard_rows_match_leaderboard_json():
    from course_lib.leaderboard import load_leaderboard, ranking_table

    report = load_leaderboard(RESULTS / "leaderboard.json")
    assert not report["fast"] and report["split"] == "course" and report["users"] == 943
    rows = {m["model"]: m for m in report["models"]}
    table = ranking_table({name: m["ranks"] for name, m in rows.items()}, "ndcg@10", 1000, seed=0)
    assert f"({report['minutes']:.0f} min on 2 CPU cores)" in README
    for entry in table.itertuples(index=False):
        cells = row(f"`{entry.model}`")
        mean, low, high = numbers(cells[0])
        assert all(shown(e, v) for e, v in zip((entry[1], entry[2], entry[3]), (mean, low, high))), entry.model
        if cells[1] == "best":
            assert entry.model == table["model"][0]
        else:
            diff, diff_low, diff_high = (float(x) for x in re.findall(r"[-+]\d+\.\d+", cells[1]))
            assert shown(entry.diff, diff) and shown(entry.diff_low, diff_low) and shown(entry.diff_high, diff_high)
            p = numbers(cells[2])[0]
            assert (entry.p_value <= 0.001 and "≤" in cells[2]) or shown(entry.p_value, p, 3), entry.model
        beyond = rows[entry.model]["beyond_accuracy@10"]
        assert shown(beyond["coverage"], numbers(cells[3])[0], 3) and shown(beyond["novelty"], numbers(cells[4])[0], 2)
    # the model names as `course train` spells them, and every model it knows is on the board
    from course_lib import recipes
    assert set(rows) | set(report.get("not_on_board", {})) == set(recipes.REGISTRY)


def test_recommend_latency_sentence_matches_its_file():
    report = load("recommend-latency.json")
    sentence = README[README.index("`python benchmarks/recommend_latency.py`"):][:600]
    for value, digits in ((report["bundle_mb"], 2), (report["cold_start_seconds"], 1),
                          (report["imports_seconds"], 2), (report["load_score_explain_seconds"], 2),
                          (report["all_users"]["seconds"], 2)):
        assert f"{value:.{digits}f}" in sentence, (value, sentence)


@pytest.mark.parametrize("name", ["random", "pop", "markov", "itemknn", "item2vec", "text-zeroshot"])
def test_deterministic_models_reproduce_their_stored_leaderboard_ranks(name):
    """The count, item2vec (one gensim worker) and zero-shot text models are deterministic for a seed: retrained
    now with ``course train``'s code, they rank every user's test target exactly as the stored run did."""
    from course_lib.leaderboard import load_leaderboard
    from course_lib.recipes.run import load_split, run_training

    stored = {m["model"]: m for m in load_leaderboard(RESULTS / "leaderboard.json")["models"]}[name]
    report = run_training(name, load_split("ml-100k"), seed=0, fast=False)
    assert report.command() == stored["command"]
    assert report.test_ranks.tolist() == stored["ranks"].tolist()


def test_llm_section_matches_the_leaderboard_and_the_data_fractions_file():
    section = README.split("### A generative LLM in the loop (notebook 10)")[1].split("### Case studies")[0]
    board = {m["model"]: m["test"]["ndcg@10"] for m in load("leaderboard.json")["models"]}
    quoted = {"llm-rerank": "0.1047 against", "sasrec": "SASRec's 0.1069", "llm-zeroshot": "zero-shot 0.0204",
              "text-zeroshot": "MiniLM 0.0280", "sasrec-llm-fusion": "fusion 0.0902", "sasrec-fusion": "MiniLM fusion 0.1066"}
    for model, text in quoted.items():
        assert text in section and shown(board[model], numbers(text)[-1]), (model, text)
    fractions = load("data-fractions.json")
    assert not fractions["fast"] and fractions["target_ratio"] == 1.2
    for key in ("10", "25", "50", "100"):
        cells = [c.strip() for c in next(line for line in section.splitlines() if line.startswith(f"| {key} % |"))
                 .strip("|").split("|")]
        comparison = fractions["fractions"][key]["comparison"]["all"]
        assert shown(comparison["mean_b"], numbers(cells[1])[0]) and shown(comparison["mean_a"], numbers(cells[2])[0])
        ratio, low, high = numbers(cells[3])
        assert all(shown(comparison[k], v, 2) for k, v in (("ratio", ratio), ("ratio_low", low), ("ratio_high", high)))
    verdict = fractions["verdict"]
    assert (verdict["at_10pct"]["decision"], verdict["at_25pct"]["decision"], verdict["rare_items"]["decision"]) == \
        ("holds", "uncertain", "undefined")
    assert "**holds at 10 %**" in section and "**not at 25 %**" in section and "**undefined**" in section


def test_llm_ready_sentence_matches_its_file():
    report = load("llm-ready.json")
    section = README.split("### A generative LLM in the loop (notebook 10)")[1][:600]
    ready, peak, _, _, seconds = numbers(section.split("is ready in")[1])[:5]
    assert shown(report["ready_seconds"], ready, 1) and shown(report["peak_rss_gb"], peak, 2)
    assert shown(report["rerank_seconds"], seconds, 0) and report["users"] == 943 and report["candidates"] == 20
