"""The web front of `qa serve --ray`: a QAService that holds neither model nor index and asks the router."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from qa import errors
from qa.config import Settings
from qa.errors import ClusterError, QAError
from qa.search.answerer import Answer
from qa.search.params import MAX_PASSAGES, MAX_QUOTES
from qa.search.validate import validate_history, validate_k, validate_question
from qa.service import QAService, SearchResult

TIMEOUT = 120  # seconds for the router's answer; a shard that is late is already cut off by QA_SHARD_TIMEOUT


def _error_class(code: str) -> type[QAError]:
    """The QAError subclass with this code (the router reports qa's own errors), else ClusterError."""
    found = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, QAError) and c.code == code]
    return found[0] if found else ClusterError


class RouterService(QAService):
    """Answers through the router at settings.router; builds (reindex, uploads) still run here."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.url = str(settings.router).rstrip("/")

    def _call(self, operation: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/{operation}", data, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read())["error"]
            except (ValueError, KeyError, TypeError):
                raise ClusterError(f"the router at {self.url} answered HTTP {exc.code}") from None
            raise _error_class(error["code"])(error["message"]) from None
        except (OSError, ValueError) as exc:
            raise ClusterError(f"cannot reach the router at {self.url}: {exc}") from None

    def load(self):
        """Nothing to load here: the router reads the index (and reads it again after a build)."""
        return None

    def warm_up(self) -> None:
        """Check the router answers."""
        self._call("info")

    def ask(self, question, history=None, k=3, mode=None, doc_ids=None) -> Answer:
        """QAService.ask, answered by the router."""
        question, history, k = validate_question(question), validate_history(history), validate_k(k, MAX_QUOTES)
        body = {"question": question, "history": history, "k": k, "mode": mode, "doc_ids": doc_ids}
        return Answer.from_dict(self._call("ask", body))

    def search(self, query, k=10, history=None, mode=None, doc_ids=None) -> tuple[str, list[SearchResult]]:
        """QAService.search, answered by the router."""
        query, history, k = validate_question(query), validate_history(history), validate_k(k, MAX_PASSAGES)
        body = {"query": query, "k": k, "history": history, "mode": mode, "doc_ids": doc_ids}
        found = self._call("search", body)
        return found["search_query"], [SearchResult(**r) for r in found["results"]]

    def info(self) -> dict:
        """QAService.info from the router, with the shards that did not answer its probe."""
        return self._call("info")

    def document(self, doc_id: str) -> dict | None:
        """QAService.document from the router."""
        return self._call("document", {"doc_id": doc_id})["document"]

    def collection(self) -> dict:
        """QAService.collection from the router."""
        return self._call("collection")
