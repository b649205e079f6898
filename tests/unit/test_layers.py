"""extender/ keeps its layers (scripts/check-layers.py), and the checker catches each kind of
breach: a cycle, an upward import, a sibling import, an unshipped package, a stray module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests import REPO


def _load_checker() -> ModuleType:
    # scripts/ is not a package and the file name has a dash: load it by path.
    spec = importlib.util.spec_from_file_location("check_layers", REPO / "scripts/check-layers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while decorating
    spec.loader.exec_module(module)
    return module


layers = _load_checker()


def test_extender_keeps_its_layers() -> None:
    assert layers.check(REPO / "extender") == []


#: A small package that respects every rule, in each import form the checker resolves:
#: absolute, relative with and without a module, a submodule named by `from pkg import`,
#: `import a.b`, inside a function, under TYPE_CHECKING.
CLEAN = {
    "__init__.py": '"""root"""\n',
    "errors.py": "class Oops(Exception): ...\n",
    "kube/__init__.py": "",
    "kube/pods.py": "from ..errors import Oops\n",
    "model/__init__.py": "from .hosts import Host\n",
    "model/hosts.py": "from extender.kube import pods\n\nclass Host: ...\n",
    "engine/__init__.py": "",
    "engine/scheduler.py": (
        "from typing import TYPE_CHECKING\n"
        "from extender.model import Host\n"
        "if TYPE_CHECKING:\n"
        "    from ..errors import Oops\n"
    ),
    "cache/__init__.py": "",
    "cache/state.py": "import extender.model.hosts\n",
    "service/__init__.py": "",
    "service/api.py": "from extender.engine import scheduler\nfrom extender.cache import state\n",
    "http/__init__.py": "",
    "http/server.py": "from .. import service\nfrom ..service.api import x\n",
    "cli.py": "def main() -> None:\n    from extender.http import server\n",
}


def _package(tmp_path: Path, extra: dict[str, str]) -> Path:
    root = tmp_path / "extender"
    for name, text in {**CLEAN, **extra}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_clean_package_passes(tmp_path: Path) -> None:
    root = _package(tmp_path, {})
    assert layers.check(root) == []
    figures = layers.report(root)
    assert figures.modules == len(CLEAN)
    # cli -> http.server -> service.api -> engine.scheduler -> model -> model.hosts
    #     -> kube.pods -> errors
    assert figures.depth == 7
    assert figures.path[0] == "extender.cli" and figures.path[-1] == "extender.errors"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param(
            {
                "model/a.py": "from . import b\n",
                "model/b.py": "def f() -> None:\n    from extender.model.a import f\n",
            },
            "extender/model/a.py:1: import cycle between extender.model.a, extender.model.b: "
            "extender.model.a (extender/model/a.py:1) -> "
            "extender.model.b (extender/model/b.py:2) -> extender.model.a",
            id="cycle",
        ),
        pytest.param(
            {
                "kube/pods.py": "from ..errors import Oops\nfrom ..service import tools\n",
                "service/tools.py": "",
            },
            "extender/kube/pods.py:2: extender.kube.pods (kube) imports extender.service.tools "
            "(service): a higher layer",
            id="upward",
        ),
        pytest.param(
            {"engine/scheduler.py": "from extender.cache.state import State\n"},
            "extender/engine/scheduler.py:1: extender.engine.scheduler (engine) imports "
            "extender.cache.state (cache): sibling layers, neither may import the other",
            id="sibling-engine-cache",
        ),
        pytest.param(
            {"cli.py": "import importlib\nimportlib.import_module('devtools.demo')\n"},
            "extender/cli.py:2: imports devtools.demo, which the wheel does not ship",
            id="unshipped",
        ),
        pytest.param(
            {"helpers.py": ""},
            "extender/helpers.py:1: extender.helpers is not in any layer",
            id="no-layer",
        ),
    ],
)
def test_the_checker_catches(tmp_path: Path, extra: dict[str, str], expected: str) -> None:
    assert layers.check(_package(tmp_path, extra)) == [expected]
