"""``musicrec config show|set``."""

from __future__ import annotations

import argparse
import dataclasses

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext
from musicrec_desktop.settings import describe_allowed, options

ORDER = 90


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
    print(f"# {ctx.dirs.settings_file}")
    for problem in ctx.problems:
        print(f"# {problem}")
    group = None
    for f in options():
        if f.metadata["group"] != group:
            group = f.metadata["group"]
            print(f"\n[{group}]")
        value = values[f.name]
        if f.name == "genre_mapping":
            value = f"{len(value)} entries (musicrec config show --json)"
        print(f"{f.name} = {value!r}    # {f.metadata['title']}; {describe_allowed(f.name)}")
    return 0


def run_set(ctx: AppContext, args: argparse.Namespace) -> int:
    ctx.set_from_text(args.key, args.value)
    print(f"{args.key} = {getattr(ctx.settings, args.key)!r}")
    return 0
