"""`--help` names every command and explains every option with its default; the same
table is in docs/configuration.md (generated from this parser, checked by tests/deploy)."""

from __future__ import annotations

import argparse

import pytest

from extender.cli import kubectl_main, kubectl_parser, main, parser
from tests import REPO


def _commands() -> dict[str, argparse.ArgumentParser]:
    top = parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return {"": top, **sub.choices}


def test_top_level_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in [n for n in _commands() if n]:
        assert f"`{name}`" in out, f"the description does not name {name}"
        assert f"    {name} " in out, f"the command list does not name {name}"


@pytest.mark.parametrize("name", list(_commands()))
def test_every_option_has_help_and_shows_its_default(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    command = _commands()[name]
    for action in command._actions:
        if action.option_strings:
            assert action.help, f"{name} {action.option_strings} has no help"
    with pytest.raises(SystemExit):
        main([name, "--help"] if name else ["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for action in command._actions:
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            assert f"default: {action.default}" in out or "(default" in (action.help or "")


def test_configuration_page_lists_every_command_and_option() -> None:
    page = (REPO / "docs" / "configuration.md").read_text()
    for name, command in _commands().items():
        if name:
            assert f"### `weighbridge {name}`" in page
        for action in command._actions:
            for option in action.option_strings:
                assert option in page or option in ("-h", "--help"), option


def _plugin_commands() -> dict[str, argparse.ArgumentParser]:
    top = kubectl_parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return {"": top, **sub.choices}


@pytest.mark.parametrize("name", list(_plugin_commands()))
def test_kubectl_plugin_options_have_help_and_defaults(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kubectl weighbridge [why] --help`, held to the same standard as weighbridge's."""
    command = _plugin_commands()[name]
    with pytest.raises(SystemExit):
        kubectl_main([name, "--help"] if name else ["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for action in command._actions:
        if action.option_strings:
            assert action.help, f"{name} {action.option_strings} has no help"
            if action.default not in (None, False, argparse.SUPPRESS):
                assert f"default: {action.default}" in out, action.option_strings


def test_explain_takes_a_snapshot_or_a_live_pod(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain"]) == 2
    assert main(["explain", "--snapshot", "x.yaml", "ns/pod"]) == 2
    assert main(["explain", "--snapshot", "x.yaml"]) == 2
    assert "--snapshot and --pod, or a live pod" in capsys.readouterr().err
