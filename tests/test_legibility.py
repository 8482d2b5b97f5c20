"""course_lib.legibility: overlapping tick labels and cut titles are found; a tidy figure passes."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from course_lib import legibility  # noqa: E402


def test_crowded_category_labels_are_found_and_rotation_fixes_them():
    names = [f"a rather long film title {i}" for i in range(12)]
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(names, range(12))
    assert any("x tick labels overlap" in p for p in legibility.problems(fig))
    ax.tick_params(axis="x", labelrotation=90)
    assert legibility.problems(fig) == []
    plt.close(fig)


def test_a_title_outside_the_figure_is_cut():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_title("a title far too long for so small a figure, running off both of its edges " * 2)
    assert any("cut" in p for p in legibility.problems(fig))
    plt.close(fig)


def test_the_watcher_logs_each_drawn_figure_once(tmp_path, monkeypatch):
    monkeypatch.setattr(matplotlib.figure.Figure, "draw", legibility._original_draw)
    log = tmp_path / "figures.log"
    legibility.watch_figures(log)
    try:
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.bar([f"label number {i}" for i in range(10)], range(10))
        ax.set_title("crowded")
        fig.canvas.draw()
        fig.canvas.draw()
        tidy, ax2 = plt.subplots(figsize=(3, 2))
        ax2.plot([1, 2, 3])
        tidy.canvas.draw()
    finally:
        matplotlib.figure.Figure.draw = legibility._original_draw
    lines = log.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("'crowded': x tick labels overlap")
    plt.close("all")
