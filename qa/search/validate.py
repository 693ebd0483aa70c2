"""What a question request may hold: its text, the conversation before it, and how many results it asks for."""

from __future__ import annotations

from qa.errors import InvalidRequest, TooLarge

MAX_QUESTION_CHARS = 2000
MAX_HISTORY_TURNS = 20


def validate_question(question: object) -> str:
    """The question as a clean string, or InvalidRequest / TooLarge."""
    if not isinstance(question, str):
        raise InvalidRequest("question must be a string")
    if not question.strip():
        raise InvalidRequest("question must not be empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise TooLarge(f"question is longer than {MAX_QUESTION_CHARS} characters")
    return question.strip()


def validate_history(history: object) -> list[str]:
    """Earlier user turns as a list of strings, or InvalidRequest."""
    if history is None:
        return []
    if not isinstance(history, list) or not all(isinstance(turn, str) for turn in history):
        raise InvalidRequest("history must be a list of strings (earlier user turns, oldest first)")
    if any(len(turn) > MAX_QUESTION_CHARS for turn in history):
        raise TooLarge(f"a history turn is longer than {MAX_QUESTION_CHARS} characters")
    return [turn for turn in history if turn.strip()][-MAX_HISTORY_TURNS:]


def validate_k(k: object, limit: int) -> int:
    """k as an int in 1..limit, or InvalidRequest."""
    if isinstance(k, float) and k.is_integer():
        k = int(k)  # JSON Schema's integer: 3.0 is one, as the documented schema says
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= limit:
        raise InvalidRequest(f"k must be a whole number from 1 to {limit}")
    return k
