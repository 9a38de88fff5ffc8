"""``musicrec run [--quick | --full] [--update] [--json]``: the whole job headless."""

from __future__ import annotations

import argparse
import math
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import EXIT_CANCELLED
from musicrec_desktop.progress import CancelToken, Progress

ORDER = 10


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run", help="run the whole job: cache, encoder, embeddings, rating model, recommendations",
        description="Runs every stage that is not up to date. Stopping (Ctrl+C) keeps the work "
                    "done so far; the next run resumes.")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--quick", action="store_true",
                        help="a short encoder training (default when there is no GPU)")
    length.add_argument("--full", action="store_true",
                        help="the full encoder training (default with a GPU)")
    parser.add_argument("--update", action="store_true",
                        help="only bring new songs and ratings in; do not train the encoder")
    parser.add_argument("--rebuild", action="store_true", help="retrain the encoder from scratch")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: the device setting)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.pipeline import PipelineState, full_pipeline, update_pipeline

    ctx.dirs.create()
    quick = True if args.quick else False if args.full else None  # None: decided by the device
    state = PipelineState(quick=quick, device=args.device,
                          force={"encoder"} if args.rebuild else set())
    pipeline = update_pipeline() if args.update else full_pipeline()
    cancel = CancelToken()
    # Ctrl+C asks the stages to stop between steps; a second one stops at once.
    previous = signal.signal(signal.SIGINT, lambda *_: _stop(cancel))
    try:
        report = pipeline.run(ctx, state, ConsoleProgress(sys.stderr), cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.json:
        print_json(report.to_dict())
    else:
        _print_report(report, ctx)
    if report.error is not None:
        raise report.error
    return EXIT_CANCELLED if report.cancelled else 0


def _stop(cancel: CancelToken) -> None:
    if cancel.cancelled:
        raise KeyboardInterrupt
    print("\nmusicrec: stopping after the current step (Ctrl+C again to stop now)", file=sys.stderr)
    cancel.cancel()


class ConsoleProgress:
    """Progress on the terminal: one updating line per stage (a line per 10 % when not a tty)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last: tuple[str, int] | None = None
        self._last_time = 0.0

    def __call__(self, p: Progress) -> None:
        step = int(p.fraction * 10)
        now = time.monotonic()
        if self.tty:
            if now - self._last_time < 0.2 and p.done < p.total:
                return
            end = "\n" if p.total and p.done >= p.total else ""
            self.stream.write(f"\r\x1b[K{_line(p)}{end}")
            self.stream.flush()
        elif self._last != (p.stage, step):
            self.stream.write(_line(p) + "\n")
        self._last, self._last_time = (p.stage, step), now


def _line(p: Progress) -> str:
    parts = [f"{p.stage:<10}"]
    if p.total:
        parts.append(f"{p.done}/{p.total} ({p.fraction:4.0%})")
    if p.rate:
        parts.append(f"{p.rate:.1f}/s")
    if p.eta_s:
        parts.append(f"ETA {_duration(p.eta_s)}")
    parts.extend(f"{k} {v:.4g}" for k, v in list(p.metrics.items())[:3])
    if p.message:
        parts.append(p.message)
    return "  ".join(parts)


def _duration(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}" if hours else f"{m}:{s:02d}"


def _print_report(report, ctx: AppContext) -> None:
    for stage in report.stages:
        print(f"{stage.title:<26} {stage.status:<11} {stage.seconds:7.1f} s  {stage.message}")
    figures = report.figures
    genre = figures.get("encoder", {}).get("genre_map")
    if not isinstance(genre, int | float) or math.isnan(genre):
        genre = figures.get("embed", {}).get("genre_map")  # k-NN on the vectors in use
    for label, value in (("genre mAP", genre),
                         ("rating correlation (Spearman)", figures.get("rating", {}).get("spearman"))):
        if isinstance(value, int | float) and not math.isnan(value):
            print(f"{label}: {value:.3f}")
    if figures.get("rating", {}).get("fallback"):
        print(figures["rating"].get("message", ""))
    _print_study(ctx, figures.get("rating", {}))
    top = figures.get("recommend", {}).get("top", [])
    if top:
        print("Top recommendations:")
        for row in top:
            reason = f" ({row['reason']})" if row.get("reason") else ""
            print(f"  {row['song']}{reason}")
    _print_playlists(figures.get("recommend", {}))
    print(report.summary())


def _print_study(ctx: AppContext, rating: dict[str, Any]) -> None:
    """The study's table when the rating stage ran it in this run (there is a listening history):
    which recommender drives radio and Play recommended, and how each did."""
    if not rating.get("study", {}).get("chosen"):
        return
    from musicrec_desktop.commands._study_table import table_text
    from musicrec_desktop.recommend.study_run import load_study

    result = load_study(ctx.dirs)
    if result is not None:
        print(table_text(result))


def _print_playlists(recommend: dict[str, Any]) -> None:
    """Where the playlists are and how to open them: a headless run leaves nothing else to click."""
    from musicrec_desktop.app.player import playlist_title  # Qt-free: reads the file's own title

    files = [Path(p) for p in recommend.get("playlists", []) if Path(p).is_file()]
    if not files:
        return
    print(f"Playlists in {files[0].parent}:")
    for path in files:
        print(f"  {path.name}")
    # Both players read XSPF and M3U8 given on their command line (checked with Strawberry 1.0.14
    # and Clementine 1.4.0rc1); --create makes a new playlist, --load replaces the current one.
    example = files[0]
    print("Open one in Strawberry or Clementine with Music > Open file… (or drag it onto the playlist), "
          "or from a terminal:")
    print(f"  strawberry --create {shlex.quote(playlist_title(example))} {shlex.quote(str(example))}")
    print("  (clementine takes the same options; --load FILE replaces the current playlist instead)")
    print("Or put them all into the running player, each under its own name: musicrec push-playlists")
