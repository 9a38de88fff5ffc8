"""``musicrec config show|set``."""

from __future__ import annotations

import argparse
import dataclasses
import re

import tomli_w

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext
from musicrec_desktop.settings import describe_allowed, options

ORDER = 90
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="show or change settings")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print every setting with its value")
    add_json_flag(show)
    show.set_defaults(run=run_show)
    setter = actions.add_parser("set", help="change one setting")
    setter.add_argument("key")
    setter.add_argument("value", help="lists: a,b,c or a JSON array; tables: JSON")
    setter.set_defaults(run=run_set)


def run_show(ctx: AppContext, args: argparse.Namespace) -> int:
    values = dataclasses.asdict(ctx.settings)
    if args.json:
        print_json(values)
        return 0
    # The settings file's own format (TOML, no sections), so that any of it can be pasted there.
    print(f"# {ctx.dirs.settings_file}")
    for problem in ctx.problems:
        print(f"# {problem}")
    group = None
    for f in options():
        if f.name == "genre_mapping":
            continue  # a table: TOML wants it after every plain key
        if f.metadata["group"] != group:
            group = f.metadata["group"]
            print(f"\n# {group}")
        print(f"{toml_line(f.name, values[f.name])}    # {f.metadata['title']}; "
              f"{describe_allowed(f.name)}")
    print(f"\n# Genre mapping: {describe_allowed('genre_mapping')}\n[genre_mapping]")
    for raw, categories in values["genre_mapping"].items():
        print(toml_line(raw, categories))
    return 0


def run_set(ctx: AppContext, args: argparse.Namespace) -> int:
    ctx.set_from_text(args.key, args.value)
    print(toml_line(args.key, getattr(ctx.settings, args.key)))
    return 0


def toml_line(key: str, value: object) -> str:
    """``key = value`` on one line, as TOML (``true``, ``"text"``, ``["a", "b"]``)."""
    name = key if BARE_KEY.fullmatch(key) else _toml_value(key)
    return f"{name} = {_toml_value(value)}"


def _toml_value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")
