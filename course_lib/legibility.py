"""Is a figure legible? Overlapping tick labels and text cut off at the figure's edge, found after drawing.

``problems(fig)`` lists what is wrong with one figure. ``watch_figures(log)`` checks every figure as it is drawn
and appends overlapping tick labels to a log file: the tests turn it on in every notebook they execute
(``COURSE_FIGURE_LOG``, read by ``runtime.describe``), and fail the run if the log is not empty. The watcher does
not look for cut text: notebooks show figures through ``bbox_inches="tight"``, which grows the image to hold
every title and label, so nothing drawn past the canvas is cut in what a learner sees.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.figure
from matplotlib.text import Text

OVERLAP_PX = 1.0          # tick labels may touch, not overlap by more than a pixel
_original_draw = matplotlib.figure.Figure.draw


def _overlaps(a, b, along: str) -> bool:
    if along == "x":
        return min(a.x1, b.x1) - max(a.x0, b.x0) > OVERLAP_PX and min(a.y1, b.y1) - max(a.y0, b.y0) > 0
    return min(a.y1, b.y1) - max(a.y0, b.y0) > OVERLAP_PX and min(a.x1, b.x1) - max(a.x0, b.x0) > 0


def _tick_problems(ax, renderer) -> list[str]:
    found = []
    for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text().strip()]
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
        boxes.sort(key=lambda item: item[1].x0 if name == "x" else item[1].y0)
        for (text_a, a), (text_b, b) in zip(boxes, boxes[1:]):
            if _overlaps(a, b, name):
                found.append(f"{name} tick labels overlap: {text_a!r} and {text_b!r}")
                break
    return found


def _cut_text(fig, renderer) -> list[str]:
    """Titles and axis labels that reach outside the figure (what ``bbox_inches='tight'`` would not save)."""
    width, height = fig.canvas.get_width_height()
    texts = [fig._suptitle] if getattr(fig, "_suptitle", None) else []
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
    cut = []
    for text in texts:
        if isinstance(text, Text) and text.get_visible() and text.get_text().strip():
            box = text.get_window_extent(renderer)
            if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
                cut.append(f"text cut at the figure's edge: {text.get_text()[:40]!r}")
    return cut


def problems(fig, renderer=None, edges: bool = True) -> list[str]:
    """Legibility problems of a drawn figure (draws it first when no renderer is given); ``edges`` also reports
    titles and axis labels that reach past the canvas (cut when the figure is saved without a tight box)."""
    if renderer is None:
        fig._legibility_checked = True      # an explicit check: the watcher need not log this drawing too
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
    found = [p for ax in fig.axes if ax.get_visible() for p in _tick_problems(ax, renderer)]
    return found + (_cut_text(fig, renderer) if edges else [])


def watch_figures(log: str | Path) -> None:
    """From now on, every figure drawn in this process is checked; problems are appended to ``log``."""
    log = Path(log)

    def draw(self, renderer):
        _original_draw(self, renderer)
        if getattr(self, "_legibility_checked", False):
            return
        self._legibility_checked = True
        found = problems(self, renderer, edges=False)
        if found:
            title = self._suptitle.get_text() if getattr(self, "_suptitle", None) else \
                next((ax.get_title() for ax in self.axes if ax.get_title()), "untitled")
            with log.open("a", encoding="utf-8") as fh:
                fh.writelines(f"{title[:50]!r}: {p}\n" for p in found)

    matplotlib.figure.Figure.draw = draw
