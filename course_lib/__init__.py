"""course_lib: the small library behind the llm-seqrec-course notebooks.

Modules (see each module's docstring), in floors that import only downwards:
    runtime    device, seeding, FAST flag, Colab detection, describe()
    files      atomic writes (write-then-rename)
    data       dataset registry, verified downloads, MovieLens, your own logs, synthetic logs
    sequences  cleaning, id remapping, leave-one-out split, padding, torch datasets
    metrics    ranks, HR/NDCG/MRR/..., full-ranking evaluation (sampled only on request)
    models     architectures and scorers, one shared interface (no training code)
    train      the one training loop (distributed: the same loop under DDP)
    recipes    each model's recipe and the one registry; recipes.run trains and evaluates any of them
    bundle, recommend, explain, beyond_accuracy, leaderboard, demo
               saved models, recommendations for a person and how to judge them
    cli        the ``course`` command (commands/: one module per subcommand)
"""

import warnings

__version__ = "0.1.0"

# Libraries the course uses (transformers, huggingface_hub) import tqdm.auto, which warns in Jupyter when
# ipywidgets is missing. The course draws text progress bars and needs no widgets: silence that one warning
# here, so that it holds whichever course_lib module a notebook imports first.
warnings.filterwarnings("ignore", message="IProgress not found")
