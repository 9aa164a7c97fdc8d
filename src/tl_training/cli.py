"""The ``tl-training`` console script: one subcommand per stage.

Each subcommand lives in its own module, which exposes ``register(subparsers)``: it adds its parser and
sets ``func`` to a callable taking the parsed arguments and returning an exit code.  Command modules must
not import torch or transformers at import time, so that ``tl-training --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import UserError

# Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES = [
    "tl_training.convert.command",
    "tl_training.score",
    "tl_training.mae.command",
    "tl_training.pkt.command",
    "tl_training.eval.command",
    "tl_training.synth.command",
    "tl_training.rl.command",
    "tl_training.rl.episode_eval",
    "tl_training.pipeline.command",
    "tl_training.ablation.command",
]


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (a count of cases, tokens, steps or a batch size)."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0 (an index)."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tl-training",
        description="Train LLMs to use tools well: MAE, PKT and IRM (TL-Training), and evaluate them.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"tl-training {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tl-training {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`tl-training ... | head`): not an error of ours. Point stdout at devnull so
        # the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    # ``python -m tl_training.cli``: the launch line of accelerate and torchrun.  UserError lives in errors.py,
    # so the class this file's ``main`` catches is the one the commands raise even when it runs as __main__.
    raise SystemExit(main())
