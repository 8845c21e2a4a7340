"""The click application behind ``hatch-meadow``: the lazy command group and the one error handler."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import click

from hatch_meadow import __version__
from hatch_meadow.cli import COMMANDS, DESCRIPTION
from hatch_meadow.cli.fasthelp import MAX_HELP_WIDTH
from hatch_meadow.errors import EXIT_INTERRUPTED, EXIT_USAGE


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
    from hatch_meadow.cli.console import err_console
    from hatch_meadow.cli.failures import error_json, render_failure

    args = list(args)
    as_json = "--json" in args
    try:
        result = cli.main(args=args, prog_name="hatch-meadow", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        code = exc.exit_code if exc.exit_code else EXIT_USAGE
        error_json(exc.format_message(), "see --help", code, as_json=as_json)
        exc.show()
        return code
    except click.Abort:
        err_console().print("interrupted")
        return EXIT_INTERRUPTED
    except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 - the one top-level handler (MeadowError too)
        return render_failure(exc, as_json=as_json)
    return int(result or 0)
