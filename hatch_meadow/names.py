"""Names that are a contract: the credential files the board looks for, and our environment variables."""

from __future__ import annotations

from typing import Final

#: Meadow OS imports these three files from /meadow0/ into its secrets store at boot.
CLIENT_CERT: Final = "client_cert.pem"
PRIVATE_KEY: Final = "private_key.pem"
PASS_FILE: Final = "private_key_pass.txt"
CREDENTIAL_FILES: Final = (CLIENT_CERT, PRIVATE_KEY, PASS_FILE)
#: Files whose content must never be printed, logged or packed into an artifact.
SECRET_FILES: Final = (PRIVATE_KEY, PASS_FILE)

#: The hook's name in [tool.hatch.build.hooks.<name>]; no hyphen, so HATCH_BUILD_HOOK_ENABLE_MEADOW works.
PLUGIN_NAME: Final = "meadow"
#: Label of the one ItemGroup hatch-meadow owns in a .csproj.
ITEM_GROUP_LABEL: Final = "hatch-meadow"


class Env:
    """Environment variables read by hatch-meadow (PEP 517 config_settings never reach hatchling hooks)."""

    SKIP: Final = "HATCH_MEADOW_SKIP"
    PORT: Final = "HATCH_MEADOW_PORT"
    DEPLOY: Final = "HATCH_MEADOW_DEPLOY"
    STRICT: Final = "HATCH_MEADOW_STRICT"
    DEFAULT_PASSPHRASE: Final = "HATCH_MEADOW_KEY_PASSPHRASE"
