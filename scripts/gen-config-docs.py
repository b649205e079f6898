#!/usr/bin/env python3
"""Generate the configuration reference from the pydantic models, so it is never written twice.

Writes
  docs/configuration.md                  every key, its type, default and description, from
                                         ``Config.model_json_schema()`` and the filter and
                                         weigher registries; every command's options, from
                                         the parser ``--help`` prints (extender/cli.py);
  charts/weighbridge/values.schema.json  the ``config`` value's schema (and its ``$defs``),
                                         so ``helm lint``/``install`` reject what the
                                         extender would refuse at start-up.
The rest of values.schema.json is hand-written and kept as it is.

    scripts/gen-config-docs.py          rewrite both files
    scripts/gen-config-docs.py --check  exit 1 if either is out of date
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import generated  # noqa: E402  (scripts/, beside this file)

from extender.cli import parser  # noqa: E402
from extender.engine.filters import FILTERS  # noqa: E402
from extender.engine.weighers import WEIGHERS  # noqa: E402
from extender.service.config import Config  # noqa: E402

DOC_PATH = ROOT / "docs" / "configuration.md"
SCHEMA_PATH = ROOT / "charts" / "weighbridge" / "values.schema.json"

Schema = dict[str, Any]


def _ref_name(schema: Schema) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _type(schema: Schema, defs: dict[str, Schema]) -> str:
    """A short human type for a JSON schema node."""
    name = _ref_name(schema)
    if name is not None:
        return f"mapping ({name})"
    if "anyOf" in schema:
        return " or ".join(_type(s, defs) for s in schema["anyOf"])
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}), defs)}"
    if kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, dict):
            return f"map of string to {_type(values, defs)}"
        return "mapping"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    return {
        "integer": "integer",
        "number": "number",
        "string": "string",
        "boolean": "boolean",
        "null": "null",
    }.get(str(kind), str(kind))


def _bounds(schema: Schema) -> str:
    parts = []
    for key, sign in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if key in schema:
            parts.append(f"{sign} {schema[key]}")
    return ", ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(model_default: Any) -> str:
    if model_default is None:
        return "unset"
    return f"`{json.dumps(model_default)}`"


def _section(
    path: str, model: Schema, defaults: dict[str, Any], defs: dict[str, Schema], out: list[str]
) -> None:
    """One table per mapping; nested mappings get their own sections after it."""
    out.append(f"## `{path}`\n")
    if model.get("description"):
        out.append(model["description"] + "\n")
    out.append("| key | type | default | description |")
    out.append("|---|---|---|---|")
    nested: list[tuple[str, Schema, dict[str, Any]]] = []
    for key, prop in model.get("properties", {}).items():
        name = _ref_name(prop)
        default = defaults.get(key)
        bounds = _bounds(prop)
        kind = _type(prop, defs) + (f" ({bounds})" if bounds else "")
        if name is not None:
            nested.append((f"{path}.{key}", defs[name], default or {}))
            anchor = f"{path}.{key}".replace(".", "").lower()
            shown = f"see [`{path}.{key}`](#{anchor})"
        else:
            shown = _default(default)
        out.append(
            f"| `{key}` | {_cell(kind)} | {_cell(shown)} | {_cell(prop.get('description', ''))} |"
        )
    out.append("")
    for sub_path, sub_model, sub_defaults in nested:
        _section(sub_path, sub_model, sub_defaults, defs, out)


def _registry_table(title: str, registry: dict[str, type], default: Any) -> list[str]:
    lines = [
        f"Known {title} (default: {', '.join(f'`{n}`' for n in default)}):\n",
        "| name | what it does |",
        "|---|---|",
    ]
    for name in sorted(registry):
        cls = registry[name]
        # The class's own docstring, else its module's (one module per family).
        doc = inspect.cleandoc(
            cls.__dict__.get("__doc__") or sys.modules[cls.__module__].__doc__ or ""
        )
        lines.append(f"| `{name}` | {_cell(doc.split(chr(10) + chr(10))[0])} |")
    return [*lines, ""]


def _options_table(command: argparse.ArgumentParser) -> list[str]:
    """A command's options as `--help` prints them: help text and default."""
    lines = ["| option | default | description |", "|---|---|---|"]
    for action in command._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        name = ", ".join(action.option_strings)
        if action.metavar or action.nargs != 0:
            name += f" {action.metavar or action.dest.upper()}"
        default = action.default
        shown = "" if default is None or default is False else f"`{default}`"
        lines.append(f"| `{name}` | {shown} | {_cell(action.help or '')} |")
    return [*lines, ""]


def _cli_reference() -> list[str]:
    """Every command and option, from the parser itself, so the page and --help agree."""
    top = parser()
    out = [
        "## Command line",
        "",
        "`weighbridge [--log-level LEVEL] COMMAND [OPTIONS]`; `weighbridge COMMAND --help`",
        "prints the same.",
        "",
        *_options_table(top),
    ]
    commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in commands._choices_actions}
    for name, command in commands.choices.items():
        out += [f"### `weighbridge {name}`", "", f"{helps[name]}.", "", *_options_table(command)]
    return out


def render_docs() -> str:
    schema = Config.model_json_schema()
    defs: dict[str, Schema] = schema.get("$defs", {})
    defaults = Config().model_dump(mode="json")
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated by scripts/gen-config-docs.py from extender/service/config.py and",
        "     the models it uses. Do not edit: change the models' descriptions and rerun the",
        "     script. -->",
        "",
        "weighbridge reads one YAML file, given with `weighbridge serve --config FILE` (the Helm",
        "chart writes its `config` value there). Every key is optional; an unknown key, an",
        "unknown filter or weigher name, or a value out of range stops the start with one",
        "message that lists every problem.",
        "",
        "The file with every default written out:",
        "",
        "```yaml",
        yaml.safe_dump(defaults, sort_keys=False).rstrip(),
        "```",
        "",
    ]
    properties: dict[str, Schema] = schema["properties"]
    for key, prop in properties.items():
        name = _ref_name(prop)
        if name is not None:
            _section(
                key,
                defs[name]
                | {"description": prop.get("description", defs[name].get("description"))},
                defaults.get(key, {}),
                defs,
                out,
            )
            continue
        out.append(f"## `{key}`\n")
        out.append(f"{prop.get('description', '')}\n")
        out.append(f"Type: {_type(prop, defs)}.\n")
        if key == "filters":
            out.extend(_registry_table("filters", FILTERS, defaults[key]))
        elif key == "weighers":
            out.extend(_registry_table("weighers", WEIGHERS, defaults[key]))
        else:
            out.append(f"Default: {_default(defaults.get(key))}.\n")
    out.extend(_cli_reference())
    return "\n".join(out).rstrip() + "\n"


def render_values_schema(current: str) -> str:
    """values.schema.json with its ``config`` property and ``$defs`` regenerated."""
    values = json.loads(current)
    schema = Config.model_json_schema()
    defs = schema.pop("$defs", {})
    schema["description"] = (
        "weighbridge's configuration file (docs/configuration.md); generated from "
        "extender/service/config.py by scripts/gen-config-docs.py."
    )
    values["properties"]["config"] = schema
    values["$defs"] = defs
    return json.dumps(values, indent=2) + "\n"


def outputs() -> dict[Path, str]:
    return {
        DOC_PATH: render_docs(),
        SCHEMA_PATH: render_values_schema(SCHEMA_PATH.read_text()),
    }


if __name__ == "__main__":
    sys.exit(generated.run(outputs, __doc__ or "", "scripts/gen-config-docs.py"))
