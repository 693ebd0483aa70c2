"""The wheel carries everything `qa serve` needs: installed into a fresh virtual environment, it serves its pages."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import requests

from qa.testing import free_port, wait_ready
from tests.helpers import REPO, real_site

pytestmark = pytest.mark.slow


def _fresh_venv(root: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel installed; the dependencies come from this environment's packages."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index"]
    subprocess.run([*pip, str(wheel)], check=True)
    # torch, FAISS and the model are not reinstalled: a .pth line puts this environment's packages after the
    # venv's own. That folder's editable finder for qa is a .pth it runs itself, which a plain path line skips.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "qa_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


def test_an_installed_wheel_serves_the_chat_and_source_pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(root), str(REPO)],
        check=True,
    )
    (wheel,) = root.glob("qa-*.whl")
    venv = _fresh_venv(root, wheel)
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import qa; print(qa.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
    ).stdout
    assert where.startswith(str(venv)), where  # the installed copy, not the repository's
    corpus, index = real_site(tmp_path_factory, "wheel-site")
    port = free_port()
    env = dict(os.environ, QA_CORPUS_DIR=str(corpus), QA_INDEX_DIR=str(index), QA_RATE_LIMIT="0")
    with open(root / "serve.log", "wb") as log:
        server = subprocess.Popen(
            [str(venv / "bin" / "qa"), "serve", "--port", str(port)], env=env, cwd=root, stdout=log, stderr=log
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server, root / "serve.log")
        chat = requests.get(f"{base}/", timeout=30)
        assert chat.status_code == 200 and "<textarea" in chat.text
        source = requests.get(f"{base}/source/what-causes-facial-twitching.txt?start=0&end=5", timeout=30)
        assert source.status_code == 200 and "<mark" in source.text
        assert requests.get(f"{base}/static/chat.js", timeout=30).status_code == 200
    finally:
        server.terminate()
        server.wait(30)
