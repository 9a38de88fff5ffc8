"""Runs a pipeline in a child process, so that torch, the models and their memory stay out of the
caller: the tray holds tens of MB while a rebuild's child holds the GB, and gives them all back
when the child ends.

The caller (the tray's worker thread) calls ``run_in_child``: it starts ``python -m
musicrec_desktop.pipeline.child`` with one end of a socket pair, sends it what to run, relays the
caller's pause, resume and cancel, and passes the child's progress reports to ``progress``. The
child runs the pipeline with its own ``CancelToken``; when the caller goes away its end of the
socket closes, and the child cancels itself (cooperatively: the stage in flight saves its work).
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any

from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import MusicrecError
from musicrec_desktop.pipeline.runner import Pipeline, PipelineReport
from musicrec_desktop.pipeline.state import PipelineState
from musicrec_desktop.progress import CancelToken, ProgressCallback

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often the caller looks at its cancel token between the child's messages
STOP_S = 120.0  # after a cancel, how long the child may take to save its work before it is killed


class ChildFailed(MusicrecError):
    """The child process ended without a report (killed, out of memory, a bug)."""


def run_in_child(factory: str, kind: str, ctx: AppContext, state: PipelineState,
                 progress: ProgressCallback, cancel: CancelToken) -> PipelineReport:
    """Runs ``factory(kind)`` (``"module:function"`` returning a ``Pipeline``) in a child process
    on ``ctx`` and ``state`` and returns its report. Pause, resume and cancel of ``cancel`` reach
    the child; ``ChildFailed`` when it ends without a report."""
    ours, theirs = socket.socketpair()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.Popen([sys.executable, "-m", "musicrec_desktop.pipeline.child", str(theirs.fileno())],
                             pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
    theirs.close()
    conn = Connection(ours.detach())
    try:
        conn.send(("run", factory, kind, ctx.dirs, ctx.settings, state.quick, state.force, state.device))
        return _relay(conn, child, progress, cancel)
    finally:
        conn.close()  # the child sees the end of its socket: it stops if it has not already
        try:
            child.wait(STOP_S if cancel.cancelled else 10)
        except subprocess.TimeoutExpired:
            log.warning("the work process %d did not stop; killing it", child.pid)
            child.kill()
            child.wait()


def _relay(conn: Connection, child: subprocess.Popen, progress: ProgressCallback,
           cancel: CancelToken) -> PipelineReport:
    paused = cancelled = False
    while True:
        if cancel.cancelled and not cancelled:
            conn.send(("cancel",))
            cancelled = True
        elif cancel.paused != paused and not cancelled:
            paused = cancel.paused
            conn.send(("pause",) if paused else ("resume",))
        if not conn.poll(POLL_S):
            continue
        try:
            message = conn.recv()
        except EOFError:
            code = child.wait()
            raise ChildFailed(f"the work process ended without finishing (exit code {code}); "
                              "the log says more") from None
        if message[0] == "progress":
            progress(message[1])
        elif message[0] == "done":
            return message[1]
        else:  # "crash": a bug in the child, with its traceback
            raise ChildFailed(f"the work process failed:\n{message[1]}")


# -- in the child ----------------------------------------------------------------------------------
def _child_main(fd: int) -> int:
    conn = Connection(fd)
    _, factory, kind, dirs, settings, quick, force, device = conn.recv()
    from musicrec_desktop.logs import setup_logging

    setup_logging(dirs, 0)
    token = CancelToken()
    threading.Thread(target=_listen, args=(conn, token), name="caller", daemon=True).start()
    send_lock = threading.Lock()

    def send(message: tuple) -> None:
        with send_lock:
            conn.send(message)

    try:
        module, _, name = factory.partition(":")
        pipeline: Pipeline = getattr(importlib.import_module(module), name)(kind)
        state = PipelineState(quick=quick, force=set(force), device=device)
        report = pipeline.run(AppContext(dirs, settings), state, lambda p: send(("progress", p)), token)
        send(("done", _portable(report)))
    except BrokenPipeError:
        return 1  # the caller is gone
    except Exception:
        send(("crash", traceback.format_exc()))
        return 1
    return 0


def _listen(conn: Connection, token: CancelToken) -> None:
    """Carries the caller's pause, resume and cancel to ``token``; cancels when the caller is gone."""
    actions = {"pause": token.pause, "resume": token.resume, "cancel": token.cancel}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            token.cancel()
            return
        actions.get(message[0], token.cancel)()


def _portable(report: PipelineReport) -> PipelineReport:
    """The report with every error replaced by a plain ``MusicrecError`` of the same message when
    it would not come through pickling whole (errors whose constructor takes other arguments);
    the stages' report objects, which hold arrays and paths for this process only, are dropped."""
    def carried(error: Any) -> Any:
        if error is None:
            return None
        try:
            pickle.loads(pickle.dumps(error))
            return error
        except Exception:  # any failure to rebuild it: its message is what the caller shows
            plain = MusicrecError(str(error))
            plain.exit_code = getattr(error, "exit_code", plain.exit_code)
            return plain

    for stage in report.stages:
        stage.error = carried(stage.error)
    report.error = carried(report.error)
    return report


if __name__ == "__main__":
    sys.exit(_child_main(int(sys.argv[1])))
