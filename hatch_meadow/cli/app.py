"""The click application behind ``hatch-meadow``: the lazy command group and the one error handler."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import click

from hatch_meadow import __version__
from hatch_meadow.cli import COMMANDS, DESCRIPTION
from hatch_meadow.cli.fasthelp import MAX_HELP_WIDTH
from hatch_meadow.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_USAGE, MeadowError


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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands from the table, without importing them."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, spec[2]) for name, spec in COMMANDS.items()])


@click.group(cls=LazyGroup, help=DESCRIPTION,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": MAX_HELP_WIDTH})
@click.version_option(__version__, "-V", "--version", prog_name="hatch-meadow")
def cli() -> None:
    """The ``hatch-meadow`` group (its help text is ``hatch_meadow.cli.DESCRIPTION``)."""


def run_click(args: Sequence[str]) -> int:
    """Run the click application on ``args`` and return its exit code (errors are rendered, never raised)."""
    from hatch_meadow.cli.console import emit_json, err_console

    args = list(args)
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

        from hatch_meadow.textsafe import printable

        err_console().print(f"[bold red]error:[/] {escape(printable(exc.message))}", markup=True, highlight=False)
        if exc.hint:
            err_console().print(f"[bold]hint:[/] {escape(printable(exc.hint))}", markup=True, highlight=False)
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
