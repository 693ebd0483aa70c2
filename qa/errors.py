"""Errors the library raises; the CLI and API turn them into clean messages."""


class QAError(Exception):
    """Base class for every error qa reports to a person."""

    code = "error"


class CorpusError(QAError):
    """A document or the corpus folder cannot be used."""

    code = "corpus_error"


class IndexNotFound(QAError):
    """There is no index yet."""

    code = "index_not_found"


class IndexUnusable(QAError):
    """The index exists but cannot be used (damaged, other model or format)."""

    code = "index_unusable"


class BuildLocked(QAError):
    """Another build holds the index lock."""

    code = "build_locked"


class ModelError(QAError):
    """The embedding model cannot be loaded."""

    code = "model_error"
