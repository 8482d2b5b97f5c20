"""The course map: one row per notebook, and the pipeline figure of notebook 00.

``COURSE_MAP`` is the single list the welcome notebook renders and the tests compare with the
README's course map and with the files in ``notebooks/``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd


@dataclass(frozen=True)
class Lesson:
    """One notebook of the course."""

    number: str
    slug: str
    title: str
    builds: str
    gpu: str  # "no", "helps", "recommended"

    @property
    def filename(self) -> str:
        return f"{self.number}_{self.slug}.ipynb"


COURSE_MAP = [
    Lesson("00", "welcome", "Welcome", "the course map, your environment, FAST vs full mode", "no"),
    Lesson("01", "data_cleaning", "Data cleaning",
           "MovieLens-100k from two verified routes, cleaning, leakage-free leave-one-out", "no"),
    Lesson("02", "evaluation_and_baselines", "Evaluation and baselines",
           "HR/NDCG/MRR with full ranking, the sampled-metric trap, Pop/Markov/item-KNN", "no"),
    Lesson("03", "word2vec_item2vec", "Word2Vec and item2vec",
           "skip-gram with negative sampling from scratch, item2vec with gensim", "no"),
    Lesson("04", "glove_embeddings", "GloVe embeddings",
           "co-occurrence counts and GloVe trained in PyTorch", "no"),
    Lesson("05", "sasrec_gpt", "SASRec: a GPT for item sequences",
           "causal self-attention from scratch, SASRec on GPT-2", "helps"),
    Lesson("06", "bert4rec", "BERT4Rec: a BERT for item sequences",
           "the cloze objective, BERT4Rec on BertModel", "helps"),
    Lesson("07", "llm_item_embeddings", "Language-model item representations",
           "pretrained text encoders for items, fusion, long tail and cold start", "helps"),
    Lesson("08", "gpu_training", "Training on a GPU, and scaling out",
           "honest GPU timing, throughput and memory, precision by device, resumable runs, DDP with torchrun", "yes"),
    Lesson("09", "recommend_and_serve", "Recommending for a person",
           "saved models, course recommend, explanations, a leaderboard with intervals, beyond accuracy, "
           "tuning with Optuna", "helps"),
    Lesson("10", "llm_recommender", "A generative LLM in the loop",
           "an offline LLM scoring titles, re-ranking with calibration, LLM item vectors, LoRA fine-tuning with "
           "catalogue-constrained output, where text pays", "helps"),
    Lesson("11", "case_studies_shop_and_news", "Case studies: shop sessions and news",
           "sessions and splits by date, GRU4Rec per session, planted mechanisms, news with new items, Chinese "
           "titles", "no"),
]

PIPELINE = [
    ("Interaction logs", "01"),
    ("Cleaning &\nleave-one-out", "01"),
    ("Evaluation &\nbaselines", "02"),
    ("Item embeddings\nWord2Vec · GloVe", "03–04"),
    ("Sequence models\nSASRec · BERT4Rec", "05–06"),
    ("Pretrained-LM\nitem text", "07"),
    ("GPU training\n& scaling out", "08"),
    ("Recommend,\nexplain, tune", "09"),
    ("Generative LLM\nin the loop", "10"),
    ("Case studies\nshop · news", "11"),
]


def course_table(available: set[str] | None = None) -> pd.DataFrame:
    """The course map as a DataFrame; ``available`` (file names) adds a column saying which notebooks exist."""
    frame = pd.DataFrame([asdict(lesson) | {"notebook": lesson.filename} for lesson in COURSE_MAP])
    frame = frame[["number", "notebook", "title", "builds", "gpu"]]
    if available is not None:
        frame["status"] = ["ready" if name in available else "planned" for name in frame["notebook"]]
    return frame


def draw_pipeline(ax=None):
    """Draw the course pipeline as a row of boxes joined by arrows; returns the matplotlib Axes."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(2.05 * len(PIPELINE), 2.4))
    width, gap = 2.0, 0.45
    colors = plt.get_cmap("Blues")([0.12 + 0.06 * i for i in range(len(PIPELINE))])
    for i, ((label, notebooks), color) in enumerate(zip(PIPELINE, colors)):
        x = i * (width + gap)
        ax.add_patch(FancyBboxPatch((x, 0), width, 1, boxstyle="round,pad=0.05", fc=color, ec="0.3"))
        ax.text(x + width / 2, 0.55, label, ha="center", va="center", fontsize=9)
        ax.text(x + width / 2, -0.28, f"notebook {notebooks}", ha="center", va="center", fontsize=8, color="0.35")
        if i < len(PIPELINE) - 1:
            ax.annotate("", xy=(x + width + gap - 0.05, 0.5), xytext=(x + width + 0.08, 0.5),
                        arrowprops={"arrowstyle": "->", "lw": 1.5, "color": "0.3"})
    ax.set_xlim(-0.2, len(PIPELINE) * (width + gap))
    ax.set_ylim(-0.5, 1.2)
    ax.axis("off")
    return ax
