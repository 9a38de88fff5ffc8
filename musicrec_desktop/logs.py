"""Where the app logs: the console (warnings, or more with -v) and the rotating log file under the
logs folder. The command line and the pipeline's child process set it up the same way."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from musicrec_desktop.paths import DataDirs

log = logging.getLogger("musicrec_desktop")


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
