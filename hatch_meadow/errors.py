"""The one error model of hatch-meadow, shared by the build hook and the CLI.

::

    MeadowError                  a problem the user can fix (exit 1 unless a subclass says otherwise)
    ├── ConfigurationError       bad [tool.hatch.build.hooks.meadow] options, every one listed   (exit 2)
    ├── InputError               a bad file or argument given to us                              (exit 2)
    │   ├── ProjectFileError     the .csproj cannot be read, parsed or written                   (exit 2)
    │   ├── CredentialError      unusable key / certificate / passphrase input                   (exit 2)
    │   └── TemplateError        scaffolding refused: bad answers, a busy DEST, copier missing   (exit 2)
    └── DeviceError              the board, the port or the serial transport                     (exit 3)
        ├── PortNotFoundError    no such port / no board / several boards with --port auto
        ├── TransportError       the port failed (unplugged, permission denied, I/O error)
        ├── DeviceTimeoutError   the board stopped answering within the time allowed
        └── DeviceRejectedError  the board answered with an error (path invalid, CRC mismatch, …)

Findings of a check that ran fine are results, not exceptions: the CLI exits 1 for them.
Anything else that escapes is a bug: the CLI prints the traceback and exits 70.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Final

EXIT_OK: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_USAGE: Final = 2
EXIT_DEVICE: Final = 3
EXIT_BUG: Final = 70
EXIT_INTERRUPTED: Final = 130


class MeadowError(Exception):
    """A problem the user can fix; not a bug in hatch-meadow."""

    exit_code: ClassVar[int] = EXIT_FINDINGS

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """One paragraph: the fact, then the next step."""
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class ConfigurationError(MeadowError):
    """Invalid hook options; ``errors`` lists every problem, each starting with its TOML path."""

    exit_code: ClassVar[int] = EXIT_USAGE

    def __init__(self, errors: Sequence[str], *, hint: str | None = None) -> None:
        self.errors = list(errors)
        text = "invalid hatch-meadow configuration:\n" + "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(text, hint=hint)


class InputError(MeadowError):
    """A file or argument we were given is unusable."""

    exit_code: ClassVar[int] = EXIT_USAGE


class ProjectFileError(InputError):
    """The .csproj cannot be found, read, parsed or safely rewritten."""


class CredentialError(InputError):
    """A key, certificate, passphrase or PFX input is unusable."""


class TemplateError(InputError):
    """``hatch-meadow new`` / ``update`` refused: bad answers, an unusable DEST, copier missing."""


class DeviceError(MeadowError):
    """The board, the serial port or the transport failed."""

    exit_code: ClassVar[int] = EXIT_DEVICE


class FindingsError(MeadowError):
    """A check found errors that must stop the build (the findings are listed in the message)."""

    exit_code: ClassVar[int] = EXIT_FINDINGS


class PortNotFoundError(DeviceError):
    """No such port, no Meadow attached, or several with ``--port auto``."""


class TransportError(DeviceError):
    """The serial port failed: unplugged, permission denied, I/O error."""


class DeviceTimeoutError(DeviceError):
    """The board did not answer in time."""


class DeviceRejectedError(DeviceError):
    """The board answered a request with an error."""


class NetworkError(MeadowError):
    """A server could not be reached or does not speak the protocol (not a verdict on the credentials)."""

    exit_code: ClassVar[int] = EXIT_DEVICE
