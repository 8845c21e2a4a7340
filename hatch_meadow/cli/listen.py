"""``hatch-meadow listen``: the board's console, each credential or TLS error explained."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from hatch_meadow.boardlog import LogLine


@click.command("listen", short_help="Show the board's console, explaining credential and TLS errors.")
@click.option("--port", default=None, help="The board's port (default: the project's, else auto).")
@click.option("--seconds", type=click.FloatRange(0.1), default=None, help="Stop after this long (default: Ctrl-C).")
@click.option("--until", "until", default=None, help="Stop when a line matches this regular expression.")
@click.option("--fail-on-error", is_flag=True, help="Exit 1 if a credential or TLS error line was seen.")
@click.option("--allow-network-port", is_flag=True, help="Allow a network pyserial URL (rfc2217://, socket://).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object at the end (schema_version 1).")
def listen(port: str | None, seconds: float | None, until: str | None, fail_on_error: bool,
           allow_network_port: bool, as_json: bool) -> int:
    """Print the app's stdout and stderr, trace lines and OS messages as they arrive, one line each, with
    an explanation under every line that carries an Mbed TLS error code or a known TLS failure (as
    `hatch-meadow explain` gives it). Sends nothing to the board. PEM blocks, long base64 runs and
    passphrases are redacted before anything is printed.

    Exit codes: 0 done (also on Ctrl-C), 1 --fail-on-error and an error line was seen, 2 bad usage,
    3 the port failed.
    """
    import os

    from hatch_meadow.boardlog import BoardLog, explanation_summary, ready_pattern
    from hatch_meadow.cli.console import emit_json
    from hatch_meadow.connect import open_device
    from hatch_meadow.names import Env
    from hatch_meadow.textsafe import printable

    pattern = ready_pattern(until)
    chosen = port or os.environ.get(Env.PORT) or "auto"

    def show(line: LogLine) -> None:
        if as_json:
            return
        click.echo(printable(f"{line.at:7.2f} {line.stream:6} {line.text}"))
        for note in explanation_summary(line):
            click.echo(printable(f"{'':15}! {note}"))

    log = BoardLog(ready=pattern, on_line=show)
    device = open_device(chosen, allow_network=allow_network_port)
    interrupted = False
    try:
        device.console = log.feed
        log.boot = lambda: device.boots
        deadline = time.monotonic() + (seconds if seconds is not None else 10 * 365 * 86400)
        stop = (lambda: any(pattern.search(line.text) for line in log.lines[-5:])) if pattern else (lambda: False)
        try:
            device.follow(deadline, stop=stop)
        except KeyboardInterrupt:
            interrupted = True
    finally:
        device.close()
    errors = [line for line in log.lines if line.is_error]
    code = 1 if fail_on_error and errors else 0
    if as_json:
        emit_json({"ok": code == 0, "port": chosen, "lines": [line.to_json() for line in log.lines],
                   "errors": len(errors), "interrupted": interrupted, "dropped": log.dropped})
    elif not as_json:
        click.echo(f"{len(log.lines)} line(s), {len(errors)} credential/TLS error(s)"
                   + (" (interrupted)" if interrupted else ""), err=True)
    return code
