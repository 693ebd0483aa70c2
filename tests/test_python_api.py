"""The README's Python API example runs as written, with the real model, over a copy of the corpus and index."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO, real_site

pytestmark = pytest.mark.slow


def readme_example() -> str:
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Python API\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_answers_with_citations(tmp_path_factory):
    corpus, _ = real_site(tmp_path_factory, "python-api")
    # The example names corpus/ and index/ relative to where it runs; qa comes from this checkout.
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    command = [sys.executable, "-c", readme_example()]
    result = subprocess.run(command, cwd=corpus.parent, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("confidence ")
    assert any(line.startswith("[1] ") and "what-causes-facial-twitching.txt" in line for line in lines)
    assert "involuntary" in result.stdout
