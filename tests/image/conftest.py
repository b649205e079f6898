"""Fixtures for the image tier: the image, built once per session by the project's own
script (cached by content, so a second session does not rebuild), and containers run from
it with podman the way the chart runs the extender's pod."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import REPO

#: The podman configuration build-image.sh writes (runc, cgroupfs, storage in the cache).
BUILD = REPO / "scripts" / "build-image.sh"


@dataclass(frozen=True)
class Image:
    ref: str
    env: dict[str, str]
    sbom: Path

    def podman(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        result = subprocess.run(
            ["podman", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def python(self, code: str) -> str:
        """What the image's own Python prints for `code`, in a read-only container without
        network."""
        return self.podman(
            "run", "--rm", "--network=none", "--read-only",
            "--entrypoint=/opt/weighbridge/bin/python", self.ref, "-c", code,
        )  # fmt: skip


@pytest.fixture(scope="session")
def image() -> Image:
    """The image `make image` builds; a build failure fails the tests (with the script's
    reason: no podman, no Debian archive, ...), it never skips them."""
    result = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(
            f"scripts/build-image.sh could not build the image:\n{result.stderr[-3000:]}",
            pytrace=False,
        )
    ref = result.stdout.strip().splitlines()[-1]
    env = dict(os.environ)
    for line in subprocess.run(
        ["bash", str(BUILD), "--env"], capture_output=True, text=True, check=True
    ).stdout.splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    cache = Path(env["CONTAINERS_CONF"]).parent.parent
    return Image(ref, env, cache / "out" / "latest" / "sbom.cdx.json")


@pytest.fixture
def containers(image: Image) -> Iterator[list[str]]:
    """Names of the containers a test starts; removed (with their logs printed) after it."""
    names: list[str] = []
    yield names
    for name in names:
        print(image.podman("logs", name, check=False)[-4000:])
        image.podman("rm", "--force", "--time", "0", name, check=False)
