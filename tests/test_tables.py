"""Per-document tables: split from an index and put back together, they give the same tables."""

import numpy as np

from qa.index.store import read_index
from qa.index.tables import index_arrays, split_old
from qa.testing import HashEmbedder
from tests.helpers import BEES, make_service, write_files

WASPS = """# Wasps

## Foraging
Wasps hunt other insects for their larvae. They also take nectar from flowers.

## Nests
A nest is built of chewed wood pulp. It lasts one summer only.
"""
PLAIN = (
    "Body text comes before any heading here. It has two sentences.\n\n## Nests\nSome nests hang from trees.\n\n"
    "## Foraging\nSome wasps forage at night.\n"
)


def test_split_and_reassembled_tables_equal_the_index(tmp_path):
    corpus = write_files(
        tmp_path / "corpus",
        {"a/bees.md": BEES, "b/wasps.md": WASPS, "c/plain.md": PLAIN},
    )
    make_service(corpus, tmp_path / "index", HashEmbedder()).build()
    data = read_index(tmp_path / "index")
    assert "Foraging" in data.sections and (data.arrays.s_section < 0).any()  # shared names and none
    docs = split_old(data)
    assert list(docs) == [d.doc_id for d in data.documents]
    wasps = docs["b/wasps.md"]
    assert wasps.sections[: wasps.sentences[0, 2] + 1][-1] == "Foraging"
    for d in docs.values():
        text = d.record.text
        for start, end, k in d.sentences.tolist():
            assert k == -1 or d.section(k) in data.sections
            assert text[start:end].strip()
        assert (d.passages[:, 3] >= 0).all() and (d.passages[:, 4] <= len(d.sentences)).all()
    arrays, sections = index_arrays(list(docs.values()))
    assert sections == data.sections
    for name, column in data.arrays.to_dict().items():
        made = getattr(arrays, name)
        assert made.dtype == column.dtype and np.array_equal(made, column), name


def test_reassembled_in_another_order_numbers_sections_by_first_use(tmp_path):
    corpus = write_files(tmp_path / "corpus", {"a/bees.md": BEES, "b/wasps.md": WASPS, "c/plain.md": PLAIN})
    make_service(corpus, tmp_path / "index", HashEmbedder()).build()
    docs = split_old(read_index(tmp_path / "index"))
    assert docs["c/plain.md"].sections == ["Nests", "Foraging"]  # its order of first use, not the index's
    arrays, sections = index_arrays([docs["c/plain.md"], docs["b/wasps.md"], docs["a/bees.md"]])
    assert sections == ["Nests", "Foraging", "Colony"]
    names = [None if k < 0 else sections[k] for k in arrays.s_section.tolist()]
    plain = docs["c/plain.md"]
    assert names[: len(plain.sentences)] == [plain.section(k) for k in plain.sentences[:, 2].tolist()]
    assert names[0] is None and names[len(plain.sentences) - 1] == "Foraging"
