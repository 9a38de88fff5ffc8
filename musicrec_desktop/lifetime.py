"""Worker processes end with the process that started them.

Data-loader and decoder workers whose parent was killed (kill -9, the out-of-memory killer) would
otherwise live on, blocked for good on a pipe to a parent that is gone, keeping their memory
(GBs for loaders) and, for forked ones, a copy of every descriptor the parent had open.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """Called first in a worker process: the kernel kills it (SIGKILL) when its parent ends.

    Linux's parent-death signal fires when the thread that started the worker ends, so workers
    are started by the thread that uses them. Elsewhere only the check below is made.
    """
    parent = multiprocessing.parent_process()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("worker %d cannot ask to end with its parent: %s", os.getpid(),
                        os.strerror(ctypes.get_errno()))
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)  # the parent ended before the line above could take effect: nobody to serve


def process_running(pid: int) -> bool:
    """Whether a process with this pid exists (another user's counts: it holds the pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
