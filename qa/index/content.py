"""What the model and BM25 see of each passage and sentence: the texts a build embeds and tokenises."""

from __future__ import annotations

import numpy as np

from qa.index.store import IndexData
from qa.index.tables import DocTables


def passage_embedding_text(title: str, section: str | None, text: str) -> str:
    """What the model sees for a passage: its section heading gives short passages their topic."""
    return f"{section}: {text}" if section and section != title else text


def embedding_texts(d: DocTables) -> tuple[list[str], list[str]]:
    """Embedding texts of a document's passages and sentences."""
    text, title = d.record.text, d.record.title
    return (
        [passage_embedding_text(title, d.section(k), text[s:e]) for s, e, k, _, _ in d.passages.tolist()],
        [text[s:e] for s, e, _ in d.sentences.tolist()],
    )


def titled_documents(data: IndexData, passages: int | None = None) -> np.ndarray:
    """Which documents' titles go on their passages for BM25: those holding at most half the passages.

    A title on more than half the passages would make its words near-universal, and BM25 (and the
    answerer's term weights) would then ignore those words in the text too: with the default
    one-document corpus, "causes" from "What Causes Facial Twitching?" stopped counting (dev hit@1
    0.786 -> 0.714). `passages`: the whole corpus's count, when `data` is one shard of it.
    """
    counts = np.bincount(data.arrays.p_doc, minlength=len(data.documents))
    return counts <= max(1, len(data.passage_vectors) if passages is None else passages) / 2


def lexical_text(data: IndexData, i: int, titled: np.ndarray) -> str:
    """What BM25 sees for a passage: the document title where it tells passages apart, then the model's text."""
    title = data.document_of(i).title
    text = passage_embedding_text(title, data.section_of(i), data.passage_text(i))
    # The title on every passage, not only the first: SciFact dev nDCG@10 +0.015 hybrid, COVID-QA unchanged;
    # the model is given no title, as it dilutes passages (COVID-QA dense hit@1 -0.06; docs/QUALITY.md).
    if not titled[data.arrays.p_doc[i]] or not title or text.startswith(title.removesuffix("...")):
        return text
    return f"{title}\n{text}"
