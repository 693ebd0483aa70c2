"""Restricting retrieval to part of the collection: documents named by doc_id or by a folder prefix."""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING

import numpy as np

from qa.errors import InvalidRequest

if TYPE_CHECKING:  # the service checks a filter before anything imports FAISS
    from qa.search.retriever import Retriever

MAX_FILTERS = 100
MAX_FILTER_CHARS = 1000


def validate_doc_ids(doc_ids: object) -> list[str] | None:
    """The doc_ids filter as a list of strings (None: the whole collection), or InvalidRequest."""
    if doc_ids is None:
        return None
    if (
        not isinstance(doc_ids, list)
        or not doc_ids
        or len(doc_ids) > MAX_FILTERS
        or not all(isinstance(d, str) and d.strip() and len(d) <= MAX_FILTER_CHARS for d in doc_ids)
    ):
        raise InvalidRequest(
            f"doc_ids must be a list of 1 to {MAX_FILTERS} doc_ids or folder prefixes (non-empty strings)"
        )
    return doc_ids


def matches(doc_id: str, wanted: str) -> bool:
    """Whether doc_id is `wanted` itself or lies in the folder `wanted` (with or without its trailing /)."""
    return doc_id == wanted or doc_id.startswith(wanted.rstrip("/") + "/")


def allowed_passages(retriever: Retriever, doc_ids: list[str]) -> np.ndarray:
    """Sorted ids of the passages of the documents doc_ids name; InvalidRequest naming any that match none."""
    ids, positions = retriever.sorted_doc_ids
    chosen = np.zeros(len(ids), dtype=bool)
    unknown = []
    for wanted in doc_ids:
        exact = retriever.doc_index.get(wanted)
        if exact is not None:
            chosen[exact] = True
        folder = wanted.rstrip("/") + "/"
        lo, hi = bisect_left(ids, folder), bisect_left(ids, folder + "\U0010ffff")
        chosen[positions[lo:hi]] = True
        if exact is None and lo == hi:
            unknown.append(wanted)
    if unknown:
        raise InvalidRequest(f"no document in the index is or lies in: {', '.join(map(repr, unknown[:5]))}")
    # Passages are stored in document order, so this is a mask over one int32 column.
    return np.flatnonzero(chosen[retriever.data.arrays.p_doc]).astype(np.int64)
