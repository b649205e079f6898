#!/usr/bin/env python3
"""Generate the `weighbridge explain` output shown in docs/filters.md from the catalogue
example, so the docs show what the command prints today.

Rewrites the fenced block under "<summary>Full output</summary>" with the output of
    weighbridge explain --snapshot examples/catalogue.yaml \\
      --config examples/catalogue-config.yaml \\
      --pod examples/catalogue-pods.yaml

    scripts/gen-explain-docs.py          rewrite the block
    scripts/gen-explain-docs.py --check  exit 1 if it is out of date
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import generated  # noqa: E402  (scripts/, beside this file)

from extender.cli import main  # noqa: E402

DOC_PATH = ROOT / "docs" / "filters.md"
EXAMPLES = ROOT / "examples"
OPENING = "<summary>Full output</summary>\n\n```\n"


def explain_output() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "explain",
                "--snapshot",
                str(EXAMPLES / "catalogue.yaml"),
                "--config",
                str(EXAMPLES / "catalogue-config.yaml"),
                "--pod",
                str(EXAMPLES / "catalogue-pods.yaml"),
            ]
        )
    if code != 0:
        raise SystemExit(f"weighbridge explain exited with {code}")
    return "".join(line.rstrip() + "\n" for line in out.getvalue().rstrip("\n").split("\n"))


def outputs() -> dict[Path, str]:
    doc = DOC_PATH.read_text()
    start = doc.index(OPENING) + len(OPENING)
    end = doc.index("```", start)
    return {DOC_PATH: doc[:start] + explain_output() + doc[end:]}


if __name__ == "__main__":
    sys.exit(generated.run(outputs, __doc__ or "", "scripts/gen-explain-docs.py"))
