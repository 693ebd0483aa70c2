"""The code's own rules: settings and errors documented, modules and functions small, no import cycle."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qa import errors
from qa.config import CONFIG_ENV, REGISTRY, Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
QA_SOURCES = sorted((ROOT / "qa").rglob("*.py"))
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _readme_section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_registry_has_one_entry_per_setting_in_order():
    assert [s.name for s in REGISTRY] == list(Settings.__dataclass_fields__)


def test_the_readme_configuration_table_lists_every_setting():
    table = _readme_section("Configuration")
    missing = [s.env for s in REGISTRY if f"`{s.env}`" not in table]
    assert not missing, f"settings missing from README's configuration table: {missing}"
    assert f"`{CONFIG_ENV}`" in table


def test_the_code_reads_no_setting_outside_the_registry():
    known = {s.env for s in REGISTRY} | {CONFIG_ENV}
    found = {name for path in QA_SOURCES for name in re.findall(r"\bQA_[A-Z_]+\b", path.read_text(encoding="utf-8"))}
    # Flask config keys the app factory takes (QA_SERVICE, QA_SETTINGS) are not environment variables.
    assert found - known <= {"QA_SERVICE", "QA_SETTINGS"}, sorted(found - known - {"QA_SERVICE", "QA_SETTINGS"})


def test_every_error_has_a_documented_code_and_a_status():
    table = _readme_section("Web chat and HTTP API")
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.QAError)]
    codes = [c.code for c in classes if c is not errors.QAError]
    assert len(codes) == len(set(codes))
    for cls in classes:
        assert 400 <= cls.status < 600
        # A corpus problem, or a cluster failing `qa build --ray`, never reaches HTTP as itself.
        if cls not in (errors.QAError, errors.CorpusError, errors.ClusterError):
            assert re.search(rf"\| {cls.status} \| [^\n]*`{cls.code}`", table), cls.__name__


@pytest.mark.parametrize("path", QA_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_small(path: Path):
    source = path.read_text(encoding="utf-8")
    assert source.count("\n") <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long


def test_no_module_imports_a_private_name_and_bench_never_imports_tests():
    bad = []
    for path in [*QA_SOURCES, *sorted((ROOT / "bench").rglob("*.py"))]:
        where = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            bad += [f"{where}: {node.module}.{name}" for name in private]
            if node.module.split(".")[0] == "tests":
                bad.append(f"{where}: {node.module}")
    assert not bad


# What each stage may not import: later stages of the data flow.
LATER = {
    "ingest": ("qa.index", "qa.search", "qa.service", "qa.http", "qa.cli"),
    "text": ("qa.index", "qa.search", "qa.service", "qa.http", "qa.cli"),
    "index": ("qa.search", "qa.service", "qa.http", "qa.cli"),
    "search": ("qa.service", "qa.http", "qa.cli"),
}


@pytest.mark.parametrize("stage", sorted(LATER))
def test_stages_import_only_earlier_stages(stage: str):
    bad = []
    for path in sorted((ROOT / "qa" / stage).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            bad += [f"{path.name}: {n}" for n in names if n.startswith(LATER[stage])]
    assert not bad


@pytest.mark.parametrize("module", sorted({".".join(p.relative_to(ROOT).with_suffix("").parts) for p in QA_SOURCES}))
def test_every_module_imports_first_on_its_own(module: str):
    # A fresh interpreter per module: an import cycle shows as a partially initialised module.
    name = module.removesuffix(".__init__")
    subprocess.run([sys.executable, "-c", f"import {name}"], check=True, cwd=ROOT)


def test_the_server_process_does_not_import_prometheus_client_before_its_workers_fork():
    # prometheus_client picks its value store when imported: the gunicorn arbiter must set PROMETHEUS_MULTIPROC_DIR
    # first, so neither the CLI nor the server module may import it.
    code = "import sys, qa.cli, qa.http.server; print('prometheus_client' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True).stdout
    assert out.strip() == "False"


def test_import_qa_is_quick_and_gives_the_python_api():
    code = "import sys, qa; print('torch' in sys.modules); from qa import Answer, QAService, Settings; print(QAService)"
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True).stdout
    assert out.split("\n")[:2] == ["False", "<class 'qa.service.QAService'>"]


def test_every_subpackage_of_qa_ships_in_the_wheel():
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "qa").rglob("__init__.py")}
    assert found <= listed, f"add to pyproject.toml's packages: {sorted(found - listed)}"
