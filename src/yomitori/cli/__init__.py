"""The ``yomitori`` command line.

Each subcommand lives in its own module under ``yomitori.cli`` and exposes
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported
only when their subcommand runs, so ``yomitori comments`` never imports torch and
``yomitori --help`` starts instantly.

Errors the user can fix are raised as :class:`yomitori.errors.UserError` and printed as one line
``yomitori: error: <message>`` with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from yomitori import __version__
from yomitori.errors import UserError

# subcommand -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "read": ("yomitori.cli.read", "read PDFs and scans: text, JSON, Markdown, hOCR, searchable PDF"),
    "train": ("yomitori.cli.train", "train a model (MNIST digits, Japanese characters, lines, layout)"),
    "eval": ("yomitori.cli.evaluate", "evaluate a checkpoint on its task's test data"),
    "predict": ("yomitori.cli.predict", "classify images (digits or characters) with a checkpoint"),
    "models": ("yomitori.cli.models", "list registered architectures with parameters and FLOPs"),
    "export": ("yomitori.cli.export", "export a checkpoint to ONNX or OpenVINO IR"),
    "data": ("yomitori.cli.data", "synthetic Japanese data: preview, build shards, corpus"),
    "comments": ("yomitori.cli.comments", "follow course comments and teacher replies"),
}


def _top_parser() -> argparse.ArgumentParser:
    lines = "\n".join(f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items())
    return argparse.ArgumentParser(
        prog="yomitori",
        description="yomitori (読み取り): Japanese OCR built with PyTorch.",
        epilog=f"commands:\n{lines}\n\nRun 'yomitori COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        _top_parser().print_help()
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"yomitori {__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        _top_parser().print_usage(sys.stderr)
        print(f"yomitori: error: unknown command {name!r} (see 'yomitori --help')", file=sys.stderr)
        return 2
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(
        prog=f"yomitori {name}",
        description=getattr(module, "DESCRIPTION", help_),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except UserError as exc:
        print(f"yomitori: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("yomitori: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `yomitori read scan.pdf | head`: the reader went away; stop quietly
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the interpreter's final flush does not fail
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
