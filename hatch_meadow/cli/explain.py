"""``hatch-meadow explain``: what an Mbed TLS error code or a Meadow TLS log line means, and the fix."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final

import click

if TYPE_CHECKING:
    from hatch_meadow.explain.report import CodeReport, ItemReport

MAX_LOG_BYTES: Final = 64 << 20


@click.command("explain", short_help="Explain Mbed TLS error codes and Meadow TLS log lines, with the fix.",
               context_settings={"ignore_unknown_options": True})  # -4352 is a code, not an option
@click.argument("what", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (schema_version 1).")
def explain(what: tuple[str, ...], as_json: bool) -> int:
    """WHAT is an error code (-4352, 4352, -0x1100, 0x3D62), a whole log line ("failed to parse private key
    -0x3D62"), or - to read a saved log from stdin and explain every line that carries an Mbed TLS error code
    or a known Meadow TLS message.

    For each code: its high-level and low-level parts with their MBEDTLS_ERR_ names and meanings, the Mbed
    TLS releases that define them (2.28.3, 2.28.8, 3.5.2, 3.6.6; where they differ, the board's 3.x meaning comes
    first), the likely cause in Meadow terms and the command that fixes it. A code no release defines is
    reported as unknown, never guessed.

    Exit codes: 0 everything explained, 1 an unknown code (or an argument with nothing recognisable),
    2 unreadable input.
    """
    from hatch_meadow.cli.console import emit_json
    from hatch_meadow.explain.report import explain_argument, explain_log

    items: list[ItemReport] = []
    ok = True
    for argument in what:
        if argument == "-":  # a log: only the lines that carry something count
            found = explain_log(_read_stdin())
            ok = ok and all(code.known for item in found for code in item.codes)
            items.extend(found)
        else:  # an argument must be explained
            item = explain_argument(argument)
            ok = ok and item.explained
            items.append(item)
    if as_json:
        emit_json({"ok": ok, "items": [item.to_json() for item in items]})
        return 0 if ok else 1
    if not items:
        click.echo("no Mbed TLS error code or known TLS message in the input")
    for item in items:
        _print_item(item)
    return 0 if ok else 1


def _read_stdin() -> str:
    from hatch_meadow.errors import InputError

    data = sys.stdin.buffer.read(MAX_LOG_BYTES + 1)
    if len(data) > MAX_LOG_BYTES:
        raise InputError("stdin: the log is larger than 64 MiB", hint="pass the relevant part of the log")
    if b"\x00" in data:
        raise InputError("stdin: binary data, not a text log", hint="pass the board's console output as text")
    return data.decode("utf-8", errors="replace")


def _print_item(item: ItemReport) -> None:
    from hatch_meadow.textsafe import printable

    if item.kind == "line":
        click.echo(printable(item.text))
        indent = "  "
    else:
        indent = ""
    for message in item.messages:
        click.echo(printable(f"{indent}{message.meaning}"))
    for code in item.codes:
        _print_code(code, indent)
    if not item.recognised:
        click.echo(f"{indent}nothing recognised: not an error code, and no known Mbed TLS or Meadow TLS message")
        return
    advice = item.advice()
    if advice is not None:
        click.echo(f"{indent}cause: {advice.cause}")
        for number, fix in enumerate(advice.fixes):
            click.echo(f"{indent}{'fix:  ' if number == 0 else '      '} {fix}")
    click.echo("")


def _print_code(code: CodeReport, indent: str) -> None:
    from hatch_meadow.explain.table import board_first, releases, to_hex

    parts = " + ".join(f"{p.hex} ({p.level}-level)" for p in code.parts)
    composed = f" = {parts}" if len(code.parts) > 1 else ""
    click.echo(f"{indent}{code.code} = {to_hex(code.code)}{composed}")
    for part in code.parts:
        if not part.known:
            click.echo(f"{indent}  {part.hex}: not defined by Mbed TLS {', '.join(releases())} (unknown; no guess)")
            continue
        for definition in board_first(part):
            click.echo(f"{indent}  {part.hex} {definition.constant} ({definition.module}): {definition.description} "
                       f"[Mbed TLS {', '.join(definition.releases)}]")
