"""``hatch-meadow verify-tls``: will the server accept these credentials? A TLS handshake (and MQTT CONNECT)."""

from __future__ import annotations

from pathlib import Path

import click

from hatch_meadow.cli.options import dir_option, project_option


@click.command("verify-tls", short_help="Try the credentials against the server: TLS handshake, MQTT CONNECT.")
@click.option("--host", required=True, help="The server, e.g. my-hub.azure-devices.net.")
@click.option("--port", type=click.IntRange(1, 65535), default=8883, show_default=True)
@dir_option("Folder with the three files (default: the project's credentials-dir, else the current folder).")
@project_option()
@click.option("--ca", "ca_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="PEM CA certificate(s) the server's certificate must chain to (default: the system's).")
@click.option("--mqtt", is_flag=True, help="Also send an MQTT 3.1.1 CONNECT as Azure IoT Hub expects it.")
@click.option("--timeout", type=click.FloatRange(0.5, 120), default=10.0, show_default=True, metavar="SECONDS")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (schema_version 1).")
def verify_tls(host: str, port: int, directory: Path | None, project: Path, ca_file: Path | None, mqtt: bool,
               timeout: float, as_json: bool) -> int:
    """A TLS 1.2 handshake with HOST presenting the credentials (the key decrypted with the pass file's
    exact bytes, as the board does), checking the server's chain; with --mqtt, then one MQTT CONNECT with
    client id = the certificate's CN and the user name `{host}/{device-id}/?api-version=2021-04-12`. IoT Hub
    accepts the handshake from any well-formed certificate and refuses an unknown or unregistered device only
    at CONNECT, so --mqtt is what proves the registration.

    Exit codes: 0 accepted, 1 refused (the alert or the CONNACK reason is shown; also a set the board could
    not use, which is never sent), 2 bad input, 3 network problem (unreachable, timeout, not TLS or MQTT).
    """
    from hatch_meadow.cli.console import emit_json, out_console
    from hatch_meadow.settings import resolve_settings
    from hatch_meadow.textsafe import printable
    from hatch_meadow.tlscheck import verify_tls as run

    if directory is None:
        directory = resolve_settings(project).credentials_dir()
    result = run(directory, host, port, ca_file=ca_file, mqtt=mqtt, timeout=timeout)
    code = 0 if result.accepted else 1
    if as_json:
        emit_json(result.to_json())
        return code
    console = out_console()
    if result.tls:
        console.print(printable(f"tls       {result.tls['version']} {result.tls['cipher']}; server "
                                f"{result.tls['server_subject']} (issued by {result.tls['server_issuer']})"),
                      markup=False)
    if result.mqtt:
        console.print(printable(f"mqtt      CONNACK {result.mqtt['return_code']}: {result.mqtt['reason']}"),
                      markup=False)
    what = "TLS handshake and MQTT CONNECT" if mqtt else "TLS handshake"
    if result.accepted:
        console.print(printable(f"accepted  {host}:{port} accepted {result.device_id} ({what})"), markup=False)
    else:
        console.print(printable(f"refused   {host}:{port}: {result.reason}"), markup=False)
    return code
