"""``musicrec train-encoder [--epochs N] [--batch-size N] [--device D] [--workers N] [--quick]
[--resume] [--json]``."""

from __future__ import annotations

import argparse
import dataclasses
import math
import signal
import sys

from musicrec_desktop.commands._numbers import positive, worker_count
from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext
from musicrec_desktop.progress import CancelToken, ignore_progress

ORDER = 30


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train-encoder", help="train the acoustic encoder on the cached songs",
        description="Trains the encoder (MoCo v2 + genre head) on the chunk cache. A checkpoint is "
                    "saved every epoch and on Ctrl+C; --resume carries on from it.")
    parser.add_argument("--epochs", type=positive, metavar="N", help="epochs (default: the epochs setting)")
    parser.add_argument("--batch-size", type=positive, metavar="N",
                        help="songs per step (default: the batch_size setting; halved on out-of-memory)")
    parser.add_argument("--device", default="auto",
                        help="auto, cpu, cuda or cuda:N (default: the device setting)")
    parser.add_argument("--workers", type=worker_count, metavar="N",
                        help="loader processes (default: the num_workers setting, on a GPU at least "
                             "one per core but one, up to 8; 0: none)")
    parser.add_argument("--quick", action="store_true",
                        help="a short run with the small encoder (ResNet-18), for CPUs and trials")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.pipeline.lock import exclusive_run

    with exclusive_run(ctx):  # `musicrec run` and the tray write the encoder too
        return train(ctx, args)


def train(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.commands.run import ConsoleProgress
    from musicrec_desktop.model.train import train_encoder

    ctx.dirs.create()
    progress = ConsoleProgress(sys.stderr) if sys.stderr.isatty() else ignore_progress
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        report = train_encoder(ctx.settings, ctx.dirs, epochs=args.epochs, quick=args.quick,
                               resume=args.resume, device=args.device, batch_size=args.batch_size,
                               workers=args.workers, progress=progress, cancel=cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.json:
        values = dataclasses.asdict(report)
        print_json({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in values.items()})
        return 0
    print(f"encoder {report.model_id}: epoch {report.epoch} ({report.epochs_run} now), step {report.step}, "
          f"on {report.device}, batch {report.batch_size}")
    print(f"held-out songs: {report.songs_heldout}; genre mAP {report.genre_map:.3f}, "
          f"k-NN genre accuracy {report.knn_accuracy:.3f}")
    print(f"{report.samples_per_s:.1f} songs/s, waiting for data {100 * report.data_wait_share:.0f} % of "
          f"the time; checkpoint {report.checkpoint}")
    return 0
