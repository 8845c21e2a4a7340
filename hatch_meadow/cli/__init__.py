"""The ``hatch-meadow`` command line: thin click commands over the library.

Exit codes (one model everywhere): 0 ok, 1 findings, 2 bad usage / config / input, 3 device or
transport, 70 a bug (with a traceback), 130 interrupted.

This module does not import click: ``--version`` and the top-level ``--help`` are answered from the
table below in about the time Python takes to start; well-formed ``check`` and ``generate`` command lines
run in the fast lane (:mod:`hatch_meadow.cli.fastlane`); everything else goes to :mod:`hatch_meadow.cli.app`.
"""

from __future__ import annotations

import os
import sys

from hatch_meadow import __version__

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing alone costs more than the answer
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Final

#: Command name → (module, attribute, one-line help). Loaded on use: `hatch-meadow generate` never imports
#: lxml or the serial stack. The one-line help is the command's ``short_help`` (a test keeps them equal),
#: so listing the commands imports none of them.
COMMANDS: Final = {
    "check": ("hatch_meadow.cli.check", "check", "Validate options, csproj and credentials without building."),
    "generate": ("hatch_meadow.cli.generate", "generate",
                 "Generate a key, a self-signed certificate and the pass file."),
    "fix": ("hatch_meadow.cli.fix", "fix",
            "Re-encode a rejected key and clean the pass file, keeping key and passphrase."),
    "import-pfx": ("hatch_meadow.cli.fix", "import_pfx_command", "Turn a PFX/P12 into the three credential files."),
    "rotate": ("hatch_meadow.cli.rotate", "rotate",
               "Replace the credentials, keeping the old thumbprint registered for now."),
    "thumbprint": ("hatch_meadow.cli.thumbprint", "thumbprint",
                   "Print the certificate's SHA-1/SHA-256 thumbprints and the az line."),
    "deploy": ("hatch_meadow.cli.deploy", "deploy_command",
               "Send the credentials (and optionally the app output) to the board."),
    "listen": ("hatch_meadow.cli.listen", "listen", "Show the board's console, explaining credential and TLS errors."),
    "devices": ("hatch_meadow.cli.deploy", "devices", "List Meadow boards on USB serial (VID 0x2E6A)."),
    "explain": ("hatch_meadow.cli.explain", "explain",
                "Explain Mbed TLS error codes and Meadow TLS log lines, with the fix."),
    "fleet": ("hatch_meadow.cli.fleet", "fleet",
              "Per-device CA-signed credentials for a fleet, with Azure's bulk files."),
    "scan": ("hatch_meadow.cli.scan", "scan",
             "Find private keys in files, folders, wheels, sdists and .mpak packages."),
    "verify-tls": ("hatch_meadow.cli.verify_tls", "verify_tls",
                   "Try the credentials against the server: TLS handshake, MQTT CONNECT."),
    "untrack": ("hatch_meadow.cli.untrack", "untrack",
                "Stop git tracking the private key and pass file, and ignore them."),
    "clear": ("hatch_meadow.cli.clear", "clear",
              "Empty the credential files, or wipe the board's stored ones (--port)."),
    "patch-csproj": ("hatch_meadow.cli.patch_csproj", "patch_csproj",
                     "Make a .csproj copy the credential files to the build output."),
    "new": ("hatch_meadow.cli.new", "new", "Make a new Meadow project from the bundled template."),
    "update": ("hatch_meadow.cli.new", "update", "Bring a project made by `new` to the newest template."),
}

#: The top-level help text (the click group's docstring is this text).
DESCRIPTION: Final = """Make, check, wire up and deploy TLS client credentials for Wilderness Labs Meadow boards.

The same steps run inside `hatch build` / `python -m build --wheel` / `pip wheel .` when the
project's pyproject.toml has a [tool.hatch.build.hooks.meadow] table.

Exit codes: 0 ok, 1 problems found, 2 bad usage/config/input, 3 device or transport, 70 bug."""

VERSION_FLAGS: Final = ("-V", "--version")
#: Commands a well-formed command line runs without click (:mod:`hatch_meadow.cli.fastlane`).
FAST_LANE: Final = ("check", "generate")
HELP_FLAGS: Final = ("-h", "--help")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (errors are rendered, never raised)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 1 and args[0] in VERSION_FLAGS:
        sys.stdout.write(f"hatch-meadow, version {__version__}\n")
        return 0
    if len(args) == 1 and args[0] in HELP_FLAGS:
        from hatch_meadow.cli.fasthelp import render_top_help

        sys.stdout.write(render_top_help())
        return 0
    if args and args[0] in FAST_LANE:
        from hatch_meadow.cli.fastlane import run as run_fast

        code = run_fast(args)
        if code is not None:
            return code
    from hatch_meadow.cli.app import run_click

    return run_click(args)


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
