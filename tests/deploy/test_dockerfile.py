"""The Dockerfile, checked statically (no container engine here): multi-stage on
python:3.11-slim, non-root, exec-form entrypoint, and a build context that holds what the
COPY lines need and nothing else.
"""

from __future__ import annotations

import json
import re

from tests import REPO

from .chart import CHART


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (k, _) in enumerate(steps) if k == "FROM")
    return steps[last_from:]


def test_builds_in_stages_on_python_slim() -> None:
    args = dict(a.split("=", 1) for k, a in instructions() if k == "ARG" and "=" in a)
    froms = [a for k, a in instructions() if k == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS build")
    assert args["PYTHON_IMAGE"] == "python:3.11-slim"
    assert {f.split()[0] for f in froms} == {"${PYTHON_IMAGE}"}
    final = final_stage()
    copies = [a for k, a in final if k == "COPY"]
    assert copies and all(c.startswith("--from=build ") for c in copies), copies
    assert not [a for k, a in final if k == "RUN"], "the runtime stage runs nothing at build"


def test_runs_as_the_charts_non_root_user() -> None:
    users = [a for k, a in final_stage() if k == "USER"]
    assert users, "the final stage sets no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    assert f"runAsUser: {uid}" in helpers and f"runAsGroup: {gid}" in helpers


def test_entrypoint_is_exec_form_and_serves_the_charts_config() -> None:
    final = dict(final_stage())
    entrypoint = json.loads(final["ENTRYPOINT"])
    assert entrypoint == ["/opt/weighbridge/bin/weighbridge"]
    command = json.loads(final["CMD"])
    assert command[:3] == ["serve", "--config", "/etc/weighbridge/config.yaml"]
    assert "PYTHONDONTWRITEBYTECODE=1" in final["ENV"], "the root filesystem is read-only"


def test_build_context_holds_exactly_what_copy_needs() -> None:
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "allow-list: everything else (.venv, .git, tests) stays out"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    sources = [
        a.split()[0] for k, a in instructions() if k == "COPY" and not a.startswith("--from")
    ]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert source.rstrip("/") in allowed, f"COPY {source} is excluded by .dockerignore"
