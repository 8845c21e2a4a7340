"""The ``hatch-meadow`` command line: thin click commands over the library.

Exit codes (one model everywhere): 0 ok, 1 findings, 2 bad usage / config / input, 3 device or
transport, 70 a bug (with a traceback), 130 interrupted.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Final

import click

from hatch_meadow import __version__
from hatch_meadow.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_USAGE, MeadowError

#: Command name → (module, attribute). Loaded on use: `hatch-meadow generate` never imports lxml or the
#: serial stack, which keeps a one-shot command close to the cost of the work itself.
COMMANDS: Final = {
    "check": ("hatch_meadow.cli.check", "check"),
    "generate": ("hatch_meadow.cli.generate", "generate"),
    "fix": ("hatch_meadow.cli.fix", "fix"),
    "import-pfx": ("hatch_meadow.cli.fix", "import_pfx_command"),
    "thumbprint": ("hatch_meadow.cli.thumbprint", "thumbprint"),
    "deploy": ("hatch_meadow.cli.deploy", "deploy_command"),
    "devices": ("hatch_meadow.cli.deploy", "devices"),
    "clear": ("hatch_meadow.cli.clear", "clear"),
    "patch-csproj": ("hatch_meadow.cli.patch_csproj", "patch_csproj"),
    "new": ("hatch_meadow.cli.new", "new"),
    "update": ("hatch_meadow.cli.new", "update"),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used (or listed by --help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        command = getattr(importlib.import_module(spec[0]), spec[1])
        return command if isinstance(command, click.Command) else None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="hatch-meadow")
def cli() -> None:
    """Make, check, wire up and deploy TLS client credentials for Wilderness Labs Meadow boards.

    The same steps run inside `hatch build` / `python -m build --wheel` / `pip wheel .` when the
    project's pyproject.toml has a [tool.hatch.build.hooks.meadow] table.

    Exit codes: 0 ok, 1 problems found, 2 bad usage/config/input, 3 device or transport, 70 bug.
    """


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (errors are rendered, never raised)."""
    from hatch_meadow.cli.console import emit_json, err_console

    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args

    def error_json(message: str, hint: str | None, code: int) -> None:
        # --json promises one object on stdout, failures included.
        if as_json:
            emit_json({"ok": False, "error": {"message": message, "hint": hint, "exit_code": code}})

    try:
        result = cli.main(args=args, prog_name="hatch-meadow", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        code = exc.exit_code if exc.exit_code else EXIT_USAGE
        error_json(exc.format_message(), "see --help", code)
        exc.show()
        return code
    except (click.Abort, KeyboardInterrupt):
        err_console().print("interrupted")
        return EXIT_INTERRUPTED
    except MeadowError as exc:
        error_json(exc.message, exc.hint, exc.exit_code)
        from rich.markup import escape  # messages carry [brackets] (extras, findings): never markup

        err_console().print(f"[bold red]error:[/] {escape(exc.message)}", markup=True, highlight=False)
        if exc.hint:
            err_console().print(f"[bold]hint:[/] {escape(exc.hint)}", markup=True, highlight=False)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the top-level bug handler is the one place for this
        import traceback

        traceback.print_exc()
        error_json(f"internal error: {type(exc).__name__}", "please report it with the command you ran", EXIT_BUG)
        err_console().print(
            "hatch-meadow hit a bug (the traceback above); please report it with the command you ran."
        )
        return EXIT_BUG
    return int(result or 0)


def run() -> None:
    """Console-script entry: run, flush, and exit without the interpreter's slow teardown.

    Everything we write is closed (and fsynced) before main() returns; skipping the teardown saves
    ~70 ms per command, which matters for scripted fleet provisioning.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
