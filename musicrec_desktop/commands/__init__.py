"""Subcommands of ``musicrec``: one module each, found by the CLI.

A module defines ``ORDER`` (its place in ``--help``) and ``register(subparsers)``, which adds its
parser and sets ``run=function(ctx, args) -> exit code``. Heavy imports (torch, faiss, Qt) go
inside the run function so that ``musicrec --help`` stays fast.
"""
