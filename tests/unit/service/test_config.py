"""The configuration file: defaults, validation, and a start-up that fails on unknown names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from extender.engine.filters import FILTERS
from extender.engine.scheduler import DEFAULT_FILTERS, DEFAULT_WEIGHERS
from extender.engine.weighers import WEIGHERS
from extender.errors import ConfigError
from extender.service.config import (
    Config,
    load_config,
    parse_config,
)
from tests import REPO, weighbridge_command

EXAMPLE = REPO / "examples" / "cluster.yaml"


def test_defaults_load_and_name_known_plugins() -> None:
    config = load_config(None)
    assert config == Config()
    assert config.filters == DEFAULT_FILTERS
    assert config.weighers == DEFAULT_WEIGHERS
    assert all(name in FILTERS for name in config.filters)
    assert all(name in WEIGHERS for name in config.weighers)
    assert config.options.max_io_ops_per_host == 8
    assert config.options.max_instances_per_host == 50
    assert config.options.default_availability_zone == "nova"
    assert config.server.max_body_bytes > 33 * 1024 * 1024


def test_a_file_sets_filters_weighers_and_options(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "filters: [ComputeFilter, CoreFilter]\n"
        "weighers: {RAMWeigher: -2, IoOpsWeigher: -1}\n"
        "options: {max_io_ops_per_host: 3, cpu_allocation_ratio: 2.5}\n"
        "server: {max_body_bytes: 1024}\n"
    )
    config = load_config(path)
    assert config.filters == ["ComputeFilter", "CoreFilter"]
    assert config.weighers == {"RAMWeigher": -2.0, "IoOpsWeigher": -1.0}
    assert config.options.max_io_ops_per_host == 3
    assert config.options.cpu_allocation_ratio == 2.5
    assert config.options.max_instances_per_host == 50
    assert config.server.max_body_bytes == 1024
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_config(empty) == Config()


def test_unknown_names_are_one_error_naming_every_one() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(
            {
                "filters": ["RamFilter", "NoSuchFilter", "ComputeFiltre"],
                "weighers": {"RAMWeigher": 1.0, "GPUWeigher": 2.0},
            },
            "test.yaml",
        )
    message = str(info.value)
    assert message.startswith("invalid configuration in test.yaml:")
    assert "filter NoSuchFilter" in message
    assert "filter ComputeFiltre" in message
    assert "weigher GPUWeigher" in message
    assert "filter RamFilter" not in message
    assert "known filters:" in message
    assert message.count("unknown") == 1


def test_unknown_filter_names_stop_the_start() -> None:
    with pytest.raises(
        ConfigError, match="unknown filter TrustedFilter, filter TypeAffinityFilter"
    ):
        parse_config({"filters": ["TrustedFilter", "TypeAffinityFilter", "JsonFilter"]})


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"filters": ["RamFilter", "RamFilter"]}, "filters listed more than once: RamFilter"),
        ({"options": {"max_io_ops_per_hots": 3}}, "options.max_io_ops_per_hots"),
        ({"options": {"cpu_allocation_ratio": 0}}, "options.cpu_allocation_ratio"),
        ({"options": {"max_instances_per_host": "many"}}, "options.max_instances_per_host"),
        ({"weighers": {"RAMWeigher": "heavy"}}, "weighers.RAMWeigher"),
        ({"filter": ["RamFilter"]}, "filter: Extra inputs are not permitted"),
        (["RamFilter"], "the top level must be a mapping"),
    ],
)
def test_invalid_configurations_say_where(data: object, needle: str) -> None:
    with pytest.raises(ConfigError, match="invalid configuration") as info:
        parse_config(data)
    assert needle in str(info.value)


def test_unreadable_or_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("filters: [RamFilter\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(bad)


def test_serve_refuses_to_start_with_unknown_names(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("filters: [RamFilter, NoSuchFilter]\nweighers: {FooWeigher: 1}\n")
    proc = subprocess.run(
        [
            *weighbridge_command(),
            "serve",
            "--config",
            str(bad),
            "--snapshot",
            str(EXAMPLE),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "filter NoSuchFilter" in proc.stderr
    assert "weigher FooWeigher" in proc.stderr
    assert str(bad) in proc.stderr
    assert "Traceback" not in proc.stderr
