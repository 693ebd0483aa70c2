"""Questions that their answer sentence no longer answers, made from answerable ones (SQuAD 2.0's "on topic, but
not answered here").

SQuAD 2.0's unanswerable questions were written against a paragraph by changing what is asked: another entity or
number, an antonym, a negation. A question whose answer sentence was simply dropped from its group teaches the
selector nothing of that (DEV on-topic AUC of the cosine: 0.566 -> 0.568, docs/SELECTOR.md); a question changed
the same ways, with its answer sentence still among the candidates, does. General English only: no word list
drawn from any benchmark's questions.
"""

from __future__ import annotations

import random
import re

WORD = re.compile(r"[^\W\d_][\w\-']+|\d[\d,.]*")
AUXILIARY = re.compile(r"\b(is|was|are|were|did|does|do|can|could|has|have|had|will|would|should)\b", re.I)
OPPOSITES = (
    "most least|largest smallest|biggest smallest|highest lowest|first last|before after|earliest latest|more less|"
    "increase decrease|increased decreased|best worst|longest shortest|oldest youngest|north south|east west|"
    "northern southern|eastern western|maximum minimum|major minor|inside outside|rarely often|always never|"
    "higher lower|larger smaller|older younger|earlier later|early late|start end|began ended|won lost|win lose|"
    "positive negative|above below|common rare|top bottom|same different|ancient modern|upper lower|"
    "fastest slowest|strongest weakest|richest poorest|heaviest lightest|many few|allowed banned|support oppose|"
    "supported opposed|accepted rejected|open closed|rise fall|gain loss"
)


def _antonyms(pairs: str) -> dict[str, str]:
    """Each word of each pair to the other (the first pair a word is in wins)."""
    antonym: dict[str, str] = {}
    for pair in pairs.split("|"):
        a, b = pair.split()
        antonym.setdefault(a, b)
        antonym.setdefault(b, a)
    return antonym


ANTONYM = _antonyms(OPPOSITES)


def _kind(word: str, first: bool) -> str | None:
    """'number', 'name' (capitalised, not the question's first word) or None."""
    if word[0].isdigit():
        return "number"
    return "name" if word[0].isupper() and not first else None


def _pool(others: list[str], avoid: set[str]) -> dict[str, list[str]]:
    """Numbers and names of the other sentences that neither the question nor the answer sentence holds."""
    pool: dict[str, list[str]] = {"number": [], "name": []}
    for sentence in others:
        for i, m in enumerate(WORD.finditer(sentence)):
            kind = _kind(m.group(), i == 0)
            if kind and len(m.group()) > 2 and m.group().lower() not in avoid:
                pool[kind].append(m.group())
    return pool


def unanswerable(question: str, positive: str, others: list[str], rnd: random.Random) -> str | None:
    """The question changed so that `positive` no longer answers it (a name or number it shares with `positive`
    swapped for one from `others`, a word it shares swapped for its antonym, or a negation), or None when no
    change applies. The kind of change is drawn first, so negation, which nearly always applies, does not swamp
    the others."""
    words = [(m.start(), m.end(), m.group()) for m in WORD.finditer(question)]
    held = {w.lower() for w in WORD.findall(positive)}
    pool = _pool(others, held | {w.lower() for _, _, w in words})
    options: dict[str, list[tuple[int, int, str]]] = {}
    for i, (a, b, w) in enumerate(words):
        kind = _kind(w, i == 0)
        if kind and len(w) > 2 and w.lower() in held and pool[kind]:
            options.setdefault("swap", []).append((a, b, rnd.choice(pool[kind])))
        if w.lower() in ANTONYM and w.lower() in held:
            options.setdefault("antonym", []).append((a, b, ANTONYM[w.lower()]))
    aux = AUXILIARY.search(question)
    if aux and not re.search(r"\bnot\b|n't", question):
        options["negate"] = [(aux.end(), aux.end(), " not")]
    if not options:
        return None
    a, b, new = rnd.choice(options[rnd.choice(sorted(options))])
    return question[:a] + new + question[b:]
