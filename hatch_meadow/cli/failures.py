"""How a command's failure reaches the user (one error model: STYLE §4), shared by the click application and
the fast lane: a MeadowError as its message and hint with its exit code, Ctrl-C as 130, anything else as a
bug (the traceback, exit 70). With ``--json``, also one JSON object on stdout."""

from __future__ import annotations

from hatch_meadow.errors import EXIT_BUG, EXIT_INTERRUPTED, MeadowError


def error_json(message: str, hint: str | None, code: int, *, as_json: bool) -> None:
    """--json promises one object on stdout, failures included."""
    if as_json:
        from hatch_meadow.cli.console import emit_json

        emit_json({"ok": False, "error": {"message": message, "hint": hint, "exit_code": code}})


def render_failure(exc: BaseException, *, as_json: bool) -> int:
    """Report ``exc`` (raised by a command) and return the exit code."""
    from hatch_meadow.cli.console import err_console

    if isinstance(exc, KeyboardInterrupt):
        err_console().print("interrupted")
        return EXIT_INTERRUPTED
    if isinstance(exc, MeadowError):
        error_json(exc.message, exc.hint, exc.exit_code, as_json=as_json)
        from rich.markup import escape  # messages carry [brackets] (extras, findings): never markup

        from hatch_meadow.textsafe import printable

        err_console().print(f"[bold red]error:[/] {escape(printable(exc.message))}", markup=True, highlight=False)
        if exc.hint:
            err_console().print(f"[bold]hint:[/] {escape(printable(exc.hint))}", markup=True, highlight=False)
        return exc.exit_code
    import traceback

    traceback.print_exception(exc)
    error_json(f"internal error: {type(exc).__name__}", "please report it with the command you ran", EXIT_BUG,
               as_json=as_json)
    err_console().print("hatch-meadow hit a bug (the traceback above); please report it with the command you ran.")
    return EXIT_BUG
