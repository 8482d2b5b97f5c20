"""A small interactive demo: pick films you like, see each model's top-k side by side.

``recommend_demo(bundles, choices)`` shows a multi-select list of titles and a table that updates with each
change (ipywidgets, in JupyterLab and in Colab). Where widgets cannot run (ipywidgets not installed, no
notebook front end such as a test or ``nbconvert`` run, ``interactive=False``) it shows the same table once for
the ``default`` history, so the cell always shows something true.
"""

from __future__ import annotations

import os
import sys

from course_lib.recommend import TitleError, side_by_side


def widgets_available() -> bool:
    """True when ipywidgets can be imported (JupyterLab with the ``lab`` extra, Colab)."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def live_frontend() -> bool:
    """True inside Colab or a kernel started by a Jupyter server (JupyterLab, Notebook 7, VS Code), where a
    widget can be drawn; False under nbconvert, nbval and ``course run``, which execute without a front end."""
    return ("google.colab" in sys.modules or bool(os.environ.get("JPY_SESSION_NAME"))
            or bool(os.environ.get("VSCODE_PID")))


def recommend_demo(bundles: dict, choices: list[str], default: list[str], k: int = 10, interactive: bool = True):
    """Display the demo (or, without widgets, the static table for ``default``); returns the widget or the table.

    ``bundles``: ``{name: bundle}`` (saved or ``bundle.in_memory``); ``choices``: titles offered in the list;
    ``default``: the titles selected at the start (oldest first).
    """
    from IPython.display import display

    if not default:
        raise ValueError("default is empty: give at least one title to start from")
    if not (interactive and widgets_available() and live_frontend()):
        table = side_by_side(bundles, default, k=k)
        print("Static table for the default history (the interactive demo needs ipywidgets and a notebook "
              "front end: JupyterLab or Colab).")
        display(table)
        return table
    import ipywidgets as widgets

    picker = widgets.SelectMultiple(options=list(choices), value=tuple(t for t in default if t in choices),
                                    rows=12, description="I liked", layout=widgets.Layout(width="45%"))
    output = widgets.Output(layout=widgets.Layout(width="55%"))

    def show(_=None):
        output.clear_output(wait=True)
        with output:
            if not picker.value:
                print("Pick at least one film (Ctrl/Cmd-click for several).")
                return
            try:
                display(side_by_side(bundles, list(picker.value), k=k))
            except TitleError as err:
                print(err)

    picker.observe(show, names="value")
    show()
    box = widgets.HBox([picker, output])
    display(box)
    return box
