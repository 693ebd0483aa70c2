"""Reading the corpus folder: file listing, bad files, block segmentation, chrome and duplicates."""

import pytest

from qa.errors import CorpusError
from qa.ingest.corpus import (
    Block,
    is_chrome,
    list_files,
    load_corpus,
    looks_like_heading,
    read_document,
    segment,
    sha256_bytes,
    title_of,
)
from tests.helpers import CHROME_LINES, LIGHTHOUSE, REPEATED, write_files


def kinds(text: str, fmt: str = "text") -> list[tuple[str, str]]:
    return [(b.kind, text[b.start : b.end]) for b in segment(text, fmt)]


# --- listing -----------------------------------------------------------------------------------------------------


def test_list_files_sorted_supported_and_not_hidden(tmp_path):
    root = write_files(
        tmp_path / "c",
        {
            "b.md": "x",
            "a.txt": "x",
            "sub/c.html": "x",
            "sub/d.PDF": "x",
            "notes.docx": "x",
            ".hidden.txt": "x",
            ".git/e.txt": "x",
        },
    )
    files, problems = list_files(root)
    assert [p.relative_to(root).as_posix() for p in files] == ["a.txt", "b.md", "sub/c.html", "sub/d.PDF"]
    assert problems == []


def test_missing_corpus_folder_is_a_corpus_error(tmp_path):
    with pytest.raises(CorpusError, match="corpus folder not found"):
        list_files(tmp_path / "nope")


def test_symlink_outside_corpus_is_reported_and_not_followed(tmp_path):
    outside = write_files(tmp_path / "outside", {"secret.txt": "The secret is forty two."})
    root = write_files(tmp_path / "c", {"inside.txt": "Inside text."})
    (root / "link.txt").symlink_to(outside / "secret.txt")
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    files, problems = list_files(root)
    assert [p.name for p in files] == ["inside.txt"]
    assert [(p.path, "outside" in p.message) for p in problems] == [("link.txt", True)]
    docs, _ = load_corpus(root)
    assert all("secret" not in d.text for d in docs)


def test_symlink_inside_corpus_is_followed(tmp_path):
    root = write_files(tmp_path / "c", {".drafts/real.txt": "Real text here."})
    (root / "alias.txt").symlink_to(root / ".drafts" / "real.txt")
    files, problems = list_files(root)
    assert [p.name for p in files] == ["alias.txt"]
    assert problems == []


def test_symlink_to_a_listed_file_is_indexed_once(tmp_path):
    root = write_files(tmp_path / "c", {"real.txt": "Real text here."})
    (root / "alias.txt").symlink_to(root / "real.txt")
    files, problems = list_files(root)
    assert [p.name for p in files] == ["real.txt"]
    assert [(p.path, "real.txt" in p.message) for p in problems] == [("alias.txt", True)]


# --- bad files ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("latin1.txt", "caf\xe9 au lait".encode("latin-1"), "not valid UTF-8"),
        ("binary.txt", b"abc\x00\x01\x02def", "binary file"),
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\r\n\t\n", "empty"),
        ("chrome.txt", b"Overview\nHow can we help? How can we help?\n", "no text to index"),
        ("damaged.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", "PDF"),
        ("notpdf.pdf", b"this is not a pdf at all", "PDF"),
    ],
)
def test_bad_file_is_a_corpus_error(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CorpusError, match=message):
        read_document(path, name)


def test_load_corpus_skips_bad_files_with_their_paths(tmp_path):
    root = write_files(
        tmp_path / "c",
        {
            "good.txt": "A perfectly good sentence about owls.",
            "bad/latin1.txt": "caf\xe9".encode("latin-1"),
            "bad/nul.md": b"\x00\x00binary",
            "bad/empty.txt": b"",
            "bad/broken.pdf": b"%PDF-1.7 truncated",
        },
    )
    (root / "dangling.txt").symlink_to(root / "gone.txt")
    docs, problems = load_corpus(root)
    assert [d.doc_id for d in docs] == ["good.txt"]
    assert sorted(p.path for p in problems) == [
        "bad/broken.pdf",
        "bad/empty.txt",
        "bad/latin1.txt",
        "bad/nul.md",
        "dangling.txt",
    ]
    assert all(p.message for p in problems)


def test_unsupported_suffix_is_refused(tmp_path):
    path = tmp_path / "x.docx"
    path.write_text("hello")
    with pytest.raises(CorpusError, match="unsupported"):
        read_document(path, "x.docx")


# --- documents ---------------------------------------------------------------------------------------------------


def test_text_is_kept_byte_for_byte_with_crlf_and_bom(tmp_path):
    raw = "\ufeffTitle Line\r\nFirst sentence here.\r\n\r\nSecond paragraph.\r\n"
    path = tmp_path / "crlf.txt"
    path.write_bytes(raw.encode("utf-8"))
    doc = read_document(path, "crlf.txt")
    with open(path, encoding="utf-8", newline="") as fh:
        assert doc.text == fh.read() == raw
    assert doc.sha256 == sha256_bytes(raw.encode("utf-8"))
    assert doc.title == "Title Line"
    for block in doc.blocks:
        span = doc.text[block.start : block.end]
        assert span == span.strip() and "\ufeff" not in span and "\r" not in span
    assert [(b.kind, doc.text[b.start : b.end]) for b in doc.blocks] == [
        ("heading", "Title Line"),
        ("body", "First sentence here."),
        ("body", "Second paragraph."),
    ]


def test_markdown_headings_and_title(tmp_path):
    path = write_files(tmp_path, {"n.md": "Intro line without hash.\n\n## Second   Part\nBody text.\n"}) / "n.md"
    doc = read_document(path, "n.md")
    assert doc.format == "markdown"
    assert [b.kind for b in doc.blocks] == ["body", "heading", "body"]
    assert doc.title == "Second Part"


def test_title_falls_back_to_first_line_then_file_name():
    text = "word " * 40 + "end."
    blocks = segment(text, "markdown")
    title = title_of(text, blocks, "folder/long.md")
    assert title.endswith("...") and len(title) <= 100
    assert title_of("", [], "folder/empty-doc.md") == "empty-doc"


# --- segmentation ------------------------------------------------------------------------------------------------


def test_headings_numbered_lines_chrome_and_duplicates_in_a_text_file():
    got = kinds(LIGHTHOUSE)
    assert got[:3] == [
        ("heading", "The Keeper's Handbook"),
        ("heading", "Lamps and lenses"),
        ("body", got[2][1]),
    ]
    assert ("heading", "Daily duties") in got
    assert ("body", "1. Wind the clockwork that turns the lens") in got
    assert ("body", "2. Trim the wick of the lamp before sunset") in got
    assert [k for k, t in got if t == REPEATED] == ["body", "duplicate"]
    assert [k for k, t in got if t in CHROME_LINES] == ["chrome"] * 3


def test_short_repeated_lines_are_not_duplicates():
    text = "Yes.\nYes.\n"
    assert [k for k, _ in kinds(text)] == ["body", "body"]


def test_duplicate_detection_ignores_case_and_punctuation():
    line = "Rivers carry sediment from the mountains down to the sea."
    text = f"{line}\n{line.upper().replace('.', '!')}\n"
    assert [k for k, _ in kinds(text)] == ["body", "duplicate"]


@pytest.mark.parametrize(
    "line",
    [
        *CHROME_LINES,
        "Skip to main content",
        "© 2024 Example Corp",
        "* * *",
        "Share this",
        "Follow us on Twitter",
        "Copyright 2023 Lighthouse Trust. All rights reserved.",
        "Sign in",
        "Search",
    ],
)
def test_chrome_lines(line):
    assert is_chrome(line)


@pytest.mark.parametrize(
    "line",
    [
        "The lamp is lit at sunset and put out at dawn.",
        "Very very old towers still stand on the coast today.",
        "Help is available from the harbour master.",
        "Other languages spoken on the island include Gaelic and Norse, according to the old census.",
        "Subscribe to the keeper's log to follow the repairs.",
        "Copyright law protects the keeper's diaries.",
        "Sign language was used between the two towers.",
        "Share the load when carrying oil up the stairs.",
    ],
)
def test_content_lines_are_not_chrome(line):
    assert not is_chrome(line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Lamps and lenses", True),
        ("What Causes Facial Twitching?", True),
        ("1990 Survey Results", True),
        ("The lamp is lit at sunset.", False),
        ("1. Wind the clockwork", False),
        ("- a bullet item", False),
        ("lower case start", False),
        ("A Title That Goes On With Far Too Many Words For Any Heading To Have Really", False),
        ("Why would anyone ever want to keep a lighthouse on a rock at sea?", False),
    ],
)
def test_looks_like_heading(line, expected):
    assert looks_like_heading(line) is expected


def test_html_blocks_use_the_given_heading_spans():
    text = "Title\n\nBody text here."
    assert segment(text, "html", [(0, 5)]) == [Block(0, 5, "heading"), Block(7, 22, "body")]
    assert [b.kind for b in segment(text, "html", [])] == ["body", "body"]
