"""The ``musicrec`` command line. Each subcommand lives in ``musicrec_desktop/commands/``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence

from musicrec_desktop import __version__, commands
from musicrec_desktop.commands._library_args import add_library_choice
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import EXIT_BROKEN_PIPE, EXIT_CANCELLED, MusicrecError, StorageError
from musicrec_desktop.logs import setup_logging
from musicrec_desktop.paths import DataDirs

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
    add_library_choice(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = [importlib.import_module(f"{commands.__name__}.{m.name}")
               for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # Logging first, so that what is wrong in the settings file reaches the console and the log.
        setup_logging(DataDirs.resolve(args.data_dir), args.verbose)
        log.debug("musicrec %s: %s", __version__, " ".join(sys.argv))
        ctx = AppContext.open(args.data_dir, db=getattr(args, "library_db", None),
                              player=getattr(args, "library_player", None))
        code = int(args.run(ctx, args) or 0)
        sys.stdout.flush()  # here, so that a reader gone away is seen below and not at exit
        return code
    except MusicrecError as exc:
        log.debug("failed", exc_info=True)
        print(f"musicrec: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("musicrec: interrupted", file=sys.stderr)
        return EXIT_CANCELLED
    except BrokenPipeError:
        # The reader of our output went away (`musicrec config show | head -1`): not an error
        # worth a message. Later writes, and Python's own flush at exit, go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        # A file of ours that cannot be written (full disk, read-only, not our folder): the
        # code that knows the file says so with a StorageError; this catches the rest.
        log.debug("failed", exc_info=True)
        error = StorageError.from_os_error(exc, exc.filename or DataDirs.resolve(args.data_dir).state)
        print(f"musicrec: {error}", file=sys.stderr)
        return error.exit_code
    finally:
        logging.shutdown()
        for handler in logging.getLogger().handlers[:]:
            logging.getLogger().removeHandler(handler)
