"""`--selector none` keeps the hand-weighted scorer: its answers are the ones qa gave before the learned selector."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from qa.config import Settings
from qa.search.params import DEFAULT_RETRIEVAL
from qa.service import QAService
from tests.helpers import real_site

pytestmark = pytest.mark.slow
# Answers to the dev questions and 7 patient-style ones, recorded before the selector existed (index_version left out),
# before question words the documents lack were searched as their stand-ins (qa/search/bridge.py) and before
# sentences held both forms of the abbreviations the documents define (qa/search/abbreviations.py): both selectors
# share those, so they are off here.
GOLDEN = Path(__file__).parent / "fixtures" / "answers_hand_scorer.json"


def test_selector_none_gives_the_answers_of_the_hand_weighted_scorer(tmp_path_factory):
    corpus, index = real_site(tmp_path_factory, "selector-none")
    settings = Settings.from_env({}, corpus_dir=corpus, index_dir=index, selector="none")
    service = QAService(settings, retrieval_params=replace(DEFAULT_RETRIEVAL, stand_in_cosine=0, abbreviations=False))
    assert service.selector is None
    for item in json.loads(GOLDEN.read_text(encoding="utf-8")):
        answer = service.ask(item["question"]).to_dict()
        answer.pop("index_version")
        assert answer == item["answer"], item["question"]
