"""The ``musicrec`` command line. Each subcommand lives in ``musicrec_desktop/commands/``."""

from __future__ import annotations

import argparse
import importlib
import logging
import logging.handlers
import pkgutil
import sys
from collections.abc import Sequence

from musicrec_desktop import __version__, commands
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import EXIT_CANCELLED, MusicrecError

log = logging.getLogger("musicrec_desktop")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="musicrec",
        description="Learns your taste from your own music library, privately, on this machine.",
    )
    parser.add_argument("--version", action="version", version=f"musicrec {__version__}")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="keep all state (settings, cache, models, logs) under DIR")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more detail on the console (-vv for debugging)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = [importlib.import_module(f"{commands.__name__}.{m.name}")
               for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)):
        module.register(sub)
    return parser


def setup_logging(ctx: AppContext, verbose: int) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel([logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)])
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root.addHandler(console)
    try:
        ctx.dirs.logs.mkdir(parents=True, exist_ok=True)
        logfile = logging.handlers.RotatingFileHandler(
            ctx.dirs.logs / "musicrec.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:
        log.warning("no log file in %s: %s", ctx.dirs.logs, exc)
        return
    logfile.setLevel(logging.DEBUG if verbose else logging.INFO)
    logfile.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(logfile)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        ctx = AppContext.open(args.data_dir)
        setup_logging(ctx, args.verbose)
        log.debug("musicrec %s: %s", __version__, " ".join(sys.argv))
        return int(args.run(ctx, args) or 0)
    except MusicrecError as exc:
        log.debug("failed", exc_info=True)
        print(f"musicrec: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("musicrec: interrupted", file=sys.stderr)
        return EXIT_CANCELLED
    finally:
        logging.shutdown()
        for handler in logging.getLogger().handlers[:]:
            logging.getLogger().removeHandler(handler)
