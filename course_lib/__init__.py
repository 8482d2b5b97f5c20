"""course_lib: the small library behind the llm-seqrec-course notebooks.

Modules (see each module's docstring):
    runtime    device, seeding, FAST flag, Colab detection, describe()
    data       dataset registry, verified downloads, MovieLens, your own logs, synthetic logs
    sequences  cleaning, id remapping, leave-one-out split, padding, torch datasets
    metrics    ranks, HR/NDCG/MRR/..., full-ranking evaluation (sampled only on request)
    models     one recommender per file, one shared interface
    cli        the ``course`` command
"""

import warnings

__version__ = "0.1.0"

# Libraries the course uses (transformers, huggingface_hub) import tqdm.auto, which warns in Jupyter when
# ipywidgets is missing. The course draws text progress bars and needs no widgets: silence that one warning
# here, so that it holds whichever course_lib module a notebook imports first.
warnings.filterwarnings("ignore", message="IProgress not found")
