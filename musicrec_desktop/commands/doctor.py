"""``musicrec doctor``: what this machine offers (Python, torch, GPU, decoders, players, disk).

Exit code 0 when everything the app needs is there, 1 when something required is missing
(torch, soundfile, a writable data folder with room for the cache); the text says what.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import EXIT_ERROR, EXIT_OK, PlayerError

log = logging.getLogger(__name__)

ORDER = 5
MIN_FREE_GB = 2.0  # below this the chunk cache for even a small library will not fit


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("doctor", help="check Python, torch, GPU, audio decoders, players, disk",
                            description="Checks what musicrec needs on this machine. Exit code 0: "
                                        "ready; 1: something required is missing.")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    report = diagnose(ctx)
    if args.json:
        print_json(report)
    else:
        print_text(report)
    return EXIT_ERROR if report["problems"] else EXIT_OK


def diagnose(ctx: AppContext) -> dict[str, Any]:
    problems: list[str] = []
    report: dict[str, Any] = {
        "python": {"version": platform.python_version(), "executable": sys.executable},
        "torch": _torch(problems),
        "audio": _audio(problems),
        "players": _players(),
        "data": _data(ctx, problems),
        "similarity_index": _similarity_index(ctx),
    }
    report["problems"] = problems
    return report


def _torch(problems: list[str]) -> dict[str, Any]:
    try:
        import torch
    except ImportError as exc:
        problems.append(f"torch cannot be imported: {exc}")
        return {"version": None}
    info: dict[str, Any] = {"version": torch.__version__, "cuda_build": torch.version.cuda,
                            "cuda_available": torch.cuda.is_available(), "gpus": []}
    if info["cuda_available"]:
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            info["gpus"].append({"index": index, "name": props.name,
                                 "memory_gb": round(props.total_memory / 2**30, 1)})
    return info


def _audio(problems: list[str]) -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        import soundfile
    except (ImportError, OSError) as exc:  # OSError: the libsndfile library itself is missing
        problems.append(f"soundfile cannot be imported: {exc}")
        info["soundfile"] = None
    else:
        info["soundfile"] = {"libsndfile": soundfile.__libsndfile_version__,
                             "formats": sorted(soundfile.available_formats())}
    ffmpeg = shutil.which("ffmpeg")
    info["ffmpeg"] = {"path": ffmpeg, "version": _first_line([ffmpeg, "-version"]) if ffmpeg else None}
    return info


def _first_line(command: list[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.splitlines()[0] if done.stdout else None


def _players() -> dict[str, Any]:
    from musicrec_desktop.library.players import PLAYERS, find_database

    running = _running_players()
    return {
        "session_bus": running is not None,
        **{p: {"database": str(find_database(p) or "") or None,
               "running": None if running is None else running[p]} for p in PLAYERS},
    }


def _running_players() -> dict[str, bool] | None:
    """player -> whether it is on the session bus; None without a bus (or without the companion,
    whose D-Bus connection this asks through)."""
    try:
        from musicrec_companion.bus import Bus
        from musicrec_companion.mpris import running_players
    except ImportError:
        return None
    try:
        with contextlib.closing(Bus()) as bus:
            running = running_players(bus)
    except PlayerError as exc:
        log.info("%s", exc)
        return None
    from musicrec_desktop.library.players import PLAYERS

    return {p: p in running for p in PLAYERS}


def _data(ctx: AppContext, problems: list[str]) -> dict[str, Any]:
    dirs = ctx.dirs
    info: dict[str, Any] = {name: str(getattr(dirs, name))
                            for name in ("config", "cache", "models", "state", "logs")}
    for name in ("cache", "state"):
        folder = _existing_parent(getattr(dirs, name))
        free_gb = round(shutil.disk_usage(folder).free / 2**30, 1)
        info[f"{name}_free_gb"] = free_gb
        if free_gb < MIN_FREE_GB:
            problems.append(f"only {free_gb} GB free for the {name} folder {getattr(dirs, name)}")
        if not _writable(folder):
            problems.append(f"the {name} folder {getattr(dirs, name)} cannot be written")
    return info


def _similarity_index(ctx: AppContext) -> dict[str, Any] | None:
    """The saved index's kind, size and measured recall/latency; None before the first build."""
    from musicrec_desktop.recommend.service import index_path
    from musicrec_desktop.store.similarity import SimilarityIndex

    path = index_path(ctx.dirs)
    try:
        return SimilarityIndex.read_info(path)
    except (OSError, ValueError, KeyError, StopIteration):  # absent, or written by an older version
        return None


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def print_text(report: dict[str, Any]) -> None:
    torch, audio, players, data = report["torch"], report["audio"], report["players"], report["data"]
    print(f"Python      {report['python']['version']} ({report['python']['executable']})")
    if torch["version"]:
        print(f"torch       {torch['version']} (CUDA build: {torch['cuda_build'] or 'none'})")
        for gpu in torch["gpus"]:
            print(f"GPU {gpu['index']}       {gpu['name']}, {gpu['memory_gb']} GB")
        if not torch["gpus"]:
            print("GPU         none usable; training runs on the CPU (slow; resnet18 advised)")
    sf = audio["soundfile"]
    if sf:
        print(f"soundfile   libsndfile {sf['libsndfile']}: {', '.join(sf['formats'])}")
    print(f"ffmpeg      {audio['ffmpeg']['version'] or 'not found (optional)'}")
    if not players["session_bus"]:
        print("D-Bus       no session bus: cannot see running players")
    for name in ("strawberry", "clementine"):
        p = players[name]
        running = {None: "", True: ", running", False: ", not running"}[p["running"]]
        print(f"{name:<11} {p['database'] or 'no database found'}{running}")
    print(f"data        state {data['state']} ({data['state_free_gb']} GB free)")
    print(f"            cache {data['cache']} ({data['cache_free_gb']} GB free)")
    index = report["similarity_index"]
    if index:
        print(f"index       {index['kind']}, {index['songs']} songs x {index['dim']}, "
              f"{index['memory_bytes'] / 2**20:.1f} MiB, recall@10 {index['recall_at_10']:.3f}, "
              f"query {index['query_ms']:.2f} ms")
    else:
        print("index       not built yet (musicrec run)")
    for problem in report["problems"]:
        print(f"PROBLEM     {problem}")
    print("ready" if not report["problems"] else "not ready")
