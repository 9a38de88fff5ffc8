"""The ``musicrec`` command line. Each subcommand lives in ``musicrec_desktop/commands/``."""

from __future__ import annotations

import argparse
import importlib
import logging
import logging.handlers
import os
import pkgutil
import sys
from collections.abc import Sequence

from musicrec_desktop import __version__, commands
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import EXIT_BROKEN_PIPE, EXIT_CANCELLED, MusicrecError, StorageError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import options

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


def add_library_choice(parser: argparse.ArgumentParser) -> None:
    """``--db`` and ``--player``: which library this run reads, whatever the settings say.

    ``musicrec library`` takes them after its name too; both land in the same place, and
    ``argparse.SUPPRESS`` keeps an absent one from undoing the other.
    """
    choices = next(f.metadata["choices"] for f in options() if f.name == "player")
    parser.add_argument("--db", dest="library_db", metavar="PATH", default=argparse.SUPPRESS,
                        help="read the library from this Strawberry or Clementine database "
                             "(this run only)")
    parser.add_argument("--player", dest="library_player", choices=choices,
                        default=argparse.SUPPRESS,
                        help="which library to read (this run only; default: the player setting)")


def setup_logging(dirs: DataDirs, verbose: int) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel([logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)])
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root.addHandler(console)
    try:
        dirs.logs.mkdir(parents=True, exist_ok=True)
        logfile = LogFile(dirs.logs / "musicrec.log", maxBytes=5_000_000, backupCount=3,
                          encoding="utf-8")
    except OSError as exc:
        log.warning("no log file in %s: %s", dirs.logs, exc)
        return
    logfile.setLevel(logging.DEBUG if verbose else logging.INFO)
    logfile.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(logfile)


class LogFile(logging.handlers.RotatingFileHandler):
    """The log file. When it cannot be written (a full disk), one line says so and it stops,
    instead of logging's traceback for every message."""

    failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self.failed = True
        exc = sys.exc_info()[1]
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"musicrec: the log file {self.baseFilename} cannot be written ({reason}); "
              "no more lines go there", file=sys.stderr)


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
