"""Every error qa reports to a person, with its code and HTTP status; the CLI and API turn them into messages."""


class QAError(Exception):
    """Base class for every error qa reports to a person."""

    code = "error"
    status = 500


class InvalidRequest(QAError):
    """A question, history or option that cannot be used."""

    code = "invalid_request"
    status = 400


class TooLarge(InvalidRequest):
    """A question longer than the service takes."""

    code = "too_large"
    status = 413


class CorpusError(QAError):
    """A document or the corpus folder cannot be used."""

    code = "corpus_error"
    status = 500


class IndexNotFound(QAError):
    """There is no index yet."""

    code = "index_not_found"
    status = 503


class IndexUnusable(QAError):
    """The index exists but cannot be used (damaged, other model or format)."""

    code = "index_unusable"
    status = 503


class BuildLocked(QAError):
    """Another build holds the index lock."""

    code = "build_locked"
    status = 409


class ModelError(QAError):
    """The embedding model cannot be loaded."""

    code = "model_error"
    status = 503


class ClusterError(QAError):
    """The Ray cluster cannot be reached or kept failing the work sent to it."""

    code = "cluster_error"
    status = 503


class JobFailed(QAError):
    """A build job failed; ?wait=true answers with the code and status of the error that stopped it."""

    code = "job_failed"
    status = 500

    def __init__(self, message: str, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code or self.code
        self.status = status or self.status


class UploadRejected(InvalidRequest):
    """An uploaded file that cannot become a document: no or an unsafe name, empty, undecodable, unreadable."""

    code = "invalid_upload"
    status = 400


class UnsupportedType(InvalidRequest):
    """An uploaded file of a type qa does not read."""

    code = "unsupported_type"
    status = 415


class DocumentExists(QAError):
    """An upload whose name is taken, without replace=true."""

    code = "document_exists"
    status = 409


class LastDocument(QAError):
    """A deletion that would leave the corpus folder without documents."""

    code = "last_document"
    status = 409


class SelectorError(QAError):
    """The answer selector's model folder is missing, incomplete, damaged or not a selector."""

    code = "selector_error"
    status = 503
