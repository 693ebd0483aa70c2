"""Reading a folder of documents into text with offsets, headings and skipped page chrome."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from qa.config import Settings
from qa.errors import CorpusError
from qa.ingest.extract import extract_html, extract_pdf
from qa.text.terms import WORD

FORMATS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf"}


@dataclass
class Block:
    """A line of a document: a heading, body text, or something not indexed."""

    start: int
    end: int
    kind: str  # "heading" | "body" | "chrome" | "duplicate"


@dataclass
class Document:
    """One source document: the text that citation offsets index, and its structure."""

    doc_id: str
    title: str
    text: str
    format: str
    sha256: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Problem:
    """A file that was skipped, and why."""

    path: str
    message: str


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def list_files(corpus_dir: Path) -> tuple[list[Path], list[Problem]]:
    """Supported files below corpus_dir, sorted; symlinks leading outside the folder are refused."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus_dir}")
    root = corpus_dir.resolve()
    found: list[Path] = []
    real: dict[Path, Path] = {}  # each plain file's real path, from its folder's (once a folder: at scale
    # a resolve() per file was most of a no-change build's time)
    for dirpath, dirnames, filenames in os.walk(corpus_dir, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        real_dir = os.path.realpath(dirpath)
        for n in sorted(filenames):
            if n.startswith(".") or os.path.splitext(n)[1].lower() not in FORMATS:
                continue
            path = Path(dirpath, n)
            found.append(path)
            if not os.path.islink(os.path.join(dirpath, n)):
                real[path] = Path(real_dir, n)
    problems: list[Problem] = []
    seen = {real[p]: p for p in found if p in real}
    files = list(seen.values())
    for path in (p for p in found if p not in real):
        rel = path.relative_to(corpus_dir).as_posix()
        try:
            target = path.resolve()
        except (OSError, RuntimeError):  # a loop of links: Python 3.11 raises RuntimeError, later ones OSError
            problems.append(Problem(rel, "symlink loop; not followed"))
            continue
        if not target.is_relative_to(root):
            problems.append(Problem(rel, "symlink pointing outside the corpus folder; not followed"))
        elif target in seen:
            # A link to a file already in the corpus would index the same text twice.
            problems.append(Problem(rel, f"link to {seen[target].relative_to(corpus_dir).as_posix()}; indexed once"))
        else:
            seen[target] = path
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(corpus_dir).as_posix()), problems


def read_document(path: Path, doc_id: str, data: bytes | None = None, max_mb: float = Settings.max_file_mb) -> Document:
    """Read one file (at most max_mb) into a Document; raises CorpusError when it cannot be read or decoded."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise CorpusError(f"unsupported file type: {path.suffix}")
    try:
        if data is None:
            if path.stat().st_size > max_mb * 1024 * 1024:
                raise CorpusError(f"file larger than {max_mb:g} MB")
            data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read file: {exc.strerror or exc}") from exc
    digest = sha256_bytes(data)
    headings: list[tuple[int, int]] | None = None
    if fmt == "pdf":
        text = extract_pdf(data)
    else:
        if b"\x00" in data[:8192]:
            raise CorpusError("binary file (contains NUL bytes)")
        try:
            # Decoding bytes equals open(encoding="utf-8", newline=""): no newline translation.
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"not valid UTF-8 (byte {exc.start})") from exc
        if fmt == "html":
            text, headings = extract_html(text)
    blocks = segment(text, fmt, headings)
    if not any(block.kind == "body" for block in blocks):
        # A document without body text has no passages; alone in a corpus it would make an unusable index.
        raise CorpusError("empty file" if not text.strip() else "no text to index (only headings or page chrome)")
    return Document(doc_id, title_of(text, blocks, doc_id), text, fmt, digest, blocks)


def title_of(text: str, blocks: list[Block], doc_id: str) -> str:
    """The first heading, else the first line (shortened), else the file name."""
    for block in blocks:
        if block.kind == "heading":
            return heading_text(text[block.start : block.end])
    for block in blocks:
        line = " ".join(text[block.start : block.end].split())
        if line:
            return line if len(line) <= 100 else line[:97].rsplit(" ", 1)[0] + "..."
    return Path(doc_id).stem


def heading_text(raw: str) -> str:
    """A heading line without Markdown hashes and extra spaces."""
    return " ".join(raw.strip().lstrip("#").split())


_LINE = re.compile(r"[^\r\n]+")
_MD_HEADING = re.compile(r"#{1,6}\s+\S")
_NUMBERED = re.compile(r"^\s*(?:\(?\d{1,3}[.)]|[-*•]\s)")


def segment(text: str, fmt: str, headings: list[tuple[int, int]] | None = None) -> list[Block]:
    """Split text into line blocks and classify each as heading, body, chrome or duplicate."""
    heading_starts = {start for start, _ in headings or ()}
    blocks: list[Block] = []
    seen: set[str] = set()
    for match in _LINE.finditer(text):
        start, end = _strip_span(text, match.start(), match.end())
        if start >= end:
            continue
        line = text[start:end]
        if fmt == "html":
            kind = "heading" if start in heading_starts else "body"
        elif (fmt == "markdown" and _MD_HEADING.match(line)) or (fmt in ("text", "pdf") and looks_like_heading(line)):
            kind = "heading"
        else:
            kind = "body"
        if is_chrome(line):
            kind = "chrome"
        elif kind == "body":
            key = " ".join(WORD.findall(line.casefold()))
            # Scraped pages repeat whole paragraphs; index each one once.
            if len(key) >= 40 and key in seen:
                kind = "duplicate"
            seen.add(key)
        blocks.append(Block(start, end, kind))
    return blocks


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] == "\ufeff"):
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def looks_like_heading(line: str) -> bool:
    """A short title-like line: few words, no sentence punctuation at the end, not a list item."""
    words = WORD.findall(line)
    if not words or len(words) > 12 or len(line) > 100:
        return False
    if line.rstrip()[-1] in ".,;:!)\"'”" or _NUMBERED.match(line):
        return False
    if line.endswith("?") and len(words) > 8:
        return False
    first = line.lstrip()[0]
    return first.isupper() or first.isdigit()


# Labels of site widgets: chrome when they are (nearly) the whole line.
_CHROME_LABEL = re.compile(
    r"^(?:(?:in )?other languages|how can we help|share(?: this(?: article| page)?| on \w+)?|print(?: this)?"
    r"(?: page| article)?|skip to (?:main )?content|(?:sign|log) ?(?:in|up|out)|subscribe(?: now)?|advertisement|"
    r"related (?:articles|posts|topics|content)|read more|see also|back to top|table of contents|privacy policy|"
    r"terms of (?:use|service)|follow us(?: on \w+)?|menu|search|home|next|previous)\W*$",
    re.IGNORECASE,
)
# Sentences only widgets say, with or without more widget text after them.
_CHROME_PHRASE = re.compile(
    r"^(?:was this (?:article|page|answer|information) (?:helpful|useful)|"
    r"(?:did|do) you find this (?:article|page) helpful|thanks? (?:you )?for (?:the|your) feedback|"
    r"accept(?: all)? cookies|we use cookies|(?:©|copyright ©?\s*\d{4}).{0,80}$|.{0,80}all rights reserved\W*$)",
    re.IGNORECASE,
)


def is_chrome(line: str) -> bool:
    """Page furniture rather than content: site widgets, or a short phrase stuttered by a scraper."""
    words = [w.casefold() for w in WORD.findall(line)]
    if not words:
        return True  # punctuation or symbols only
    stripped = line.strip()
    if len(words) <= 15 and (_CHROME_LABEL.match(stripped) or _CHROME_PHRASE.match(stripped)):
        return True
    if len(words) <= 20:
        # Scraped buttons repeat their label ("How can we help? How can we help?").
        for n in range(2, len(words) // 2 + 1):
            for i in range(len(words) - 2 * n + 1):
                if words[i : i + n] == words[i + n : i + 2 * n]:
                    return True
    return False


def load_corpus(corpus_dir: Path) -> tuple[list[Document], list[Problem]]:
    """Read every supported file below corpus_dir; unreadable files become Problems."""
    files, problems = list_files(corpus_dir)
    documents = []
    for path in files:
        doc_id = path.relative_to(corpus_dir).as_posix()
        try:
            documents.append(read_document(path, doc_id))
        except CorpusError as exc:
            problems.append(Problem(doc_id, str(exc)))
    return documents, problems
