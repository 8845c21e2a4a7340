"""The machine interface (issue #12 item 6): every reporting command's --json validates against its schema in
hatch_meadow/schemas/, starts with schema_version, and uses snake_case keys; failures have one error shape."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hatch_meadow.creds.generate import generate_credentials

#: Objects whose keys are data (file names), not names of fields.
DATA_KEYED = {"attempts"}


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(resources.files("hatch_meadow.schemas").joinpath(f"{name}.json").read_text())
    return loaded


def run_json(*args: str, cwd: Path, codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", *args, "--json"], capture_output=True, text=True,
                         cwd=cwd, timeout=120, check=False)
    assert run.returncode in codes, run.stdout + run.stderr
    data: dict[str, Any] = json.loads(run.stdout)
    assert next(iter(data)) == "schema_version"
    return data


def snake_case_keys(value: object, path: str = "") -> list[str]:
    bad: list[str] = []
    if isinstance(value, dict):
        data_keyed = path.rsplit(".", 1)[-1] in DATA_KEYED
        for key, item in value.items():
            if not data_keyed and (not key.replace("_", "").isalnum() or key != key.lower()):
                bad.append(f"{path}.{key}")
            bad += snake_case_keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            bad += snake_case_keys(item, path)
    return bad


def validate(name: str, data: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema(name))
    errors = sorted(Draft202012Validator(schema(name)).iter_errors(data), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    assert snake_case_keys(data) == []


def test_every_schema_is_valid_and_versioned() -> None:
    names = sorted(p.name for p in resources.files("hatch_meadow.schemas").iterdir() if p.name.endswith(".json"))
    assert names == ["check.json", "deploy.json", "error.json", "explain.json", "fleet-deploy.json",
                     "fleet-init-ca.json", "fleet-issue.json", "fleet-manifest.json", "fleet-rotate-finish.json",
                     "fleet-status.json", "generate.json", "listen.json", "rotate.json", "scan.json",
                     "thumbprint.json", "verify-tls.json"]
    for name in names:
        loaded = schema(name.removesuffix(".json"))
        Draft202012Validator.check_schema(loaded)
        assert loaded["properties"]["schema_version"] == {"const": 1}


def test_generate_check_thumbprint_deploy_rotate(tmp_path: Path, project: Any) -> None:
    validate("generate", run_json("generate", "--dir", "c", "--device-id", "dev-1", "--key-type", "ec-p256",
                                  cwd=tmp_path))
    validate("check", run_json("check", "--dir", "c", cwd=tmp_path))
    validate("thumbprint", run_json("thumbprint", "--dir", "c", cwd=tmp_path))
    validate("deploy", run_json("deploy", "--dir", "c", "--port", "sim://schemas", cwd=tmp_path))
    validate("rotate", run_json("rotate", "--dir", "c", cwd=tmp_path))
    validate("rotate", run_json("rotate", "--dir", "c", "--finish", cwd=tmp_path))
    root = project('device-id = "dev-1"\n')  # a project with findings and a pending csproj change
    validate("check", run_json("check", cwd=root))
    (root / "MeadowApp" / "private_key_pass.txt").write_text("x")
    validate("check", run_json("check", cwd=root, codes=(1,)))


def test_scan_and_errors(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04junk")
    validate("scan", run_json("scan", "c", "broken.zip", cwd=tmp_path, codes=(1,)))
    validate("error", run_json("scan", "nothere", cwd=tmp_path, codes=(2,)))
    validate("error", run_json("deploy", "--dir", "c", "--port", "/dev/nonexistent-port", cwd=tmp_path, codes=(2, 3)))


def test_verify_tls_refused_and_unreachable(tmp_path: Path) -> None:
    import socket
    import ssl
    import threading

    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    validate("error", run_json("verify-tls", "--host", "127.0.0.1", "--port", str(closed), "--dir", "c",
                               cwd=tmp_path, codes=(3,)))
    # A TLS server whose certificate the client does not trust: a refusal (exit 1) with the stage it reached.
    generate_credentials(tmp_path / "server", device_id="localhost", key_type="ec-p256", key_encryption="none")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server" / "client_cert.pem", tmp_path / "server" / "private_key.pem")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        refused = run_json("verify-tls", "--host", "127.0.0.1", "--port", str(listener.getsockname()[1]), "--dir",
                           "c", cwd=tmp_path, codes=(1,))
        thread.join(timeout=10)
    validate("verify-tls", refused)
    assert refused["stage"] == "tls"


@pytest.mark.parametrize("name", ["check", "deploy", "scan", "verify-tls", "rotate", "thumbprint", "generate"])
def test_the_readme_lists_the_schema(name: str) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert f"`hatch_meadow/schemas/{name}.json`" in readme


def test_fleet_commands_and_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HATCH_MEADOW_CA_PASSPHRASE", "schema-test-passphrase")
    (tmp_path / "devices.csv").write_text("device_id,serial_number\nd-1,AB12\nd-2,\n")
    validate("fleet-init-ca", run_json("fleet", "init-ca", "--dir", "CA", cwd=tmp_path))
    validate("fleet-issue", run_json("fleet", "issue", "--ca", "CA", "--devices", "devices.csv", "--out", "OUT",
                                     "--key-type", "ec-p256", cwd=tmp_path))
    validate("fleet-status", run_json("fleet", "status", "--out", "OUT", cwd=tmp_path))
    validate("fleet-issue", run_json("fleet", "csr", "--devices", "devices.csv", "--out", "EXT", cwd=tmp_path))
    validate("fleet-manifest", json.loads((tmp_path / "OUT" / "manifest.json").read_text()))
    validate("fleet-manifest", json.loads((tmp_path / "EXT" / "manifest.json").read_text()))
    validate("fleet-deploy", run_json("fleet", "deploy", "--out", "OUT", "--port", "sim://s1?serial=AB12", "--port", "sim://s2",
                                      cwd=tmp_path))
    validate("fleet-deploy", run_json("fleet", "deploy", "--out", "OUT", "--port", "sim://s3", cwd=tmp_path,
                                      codes=(2,)))
    validate("fleet-manifest", json.loads((tmp_path / "OUT" / "manifest.json").read_text()))


def test_explain(tmp_path: Path) -> None:
    validate("explain", run_json("explain", "-4352", "0x3D62", "failed to parse private key -0x3D62", "0x7E80",
                                 cwd=tmp_path))
    validate("explain", run_json("explain", "-0x007F", "nothing here", cwd=tmp_path, codes=(1,)))


def test_deploy_listen_and_listen(tmp_path: Path) -> None:
    from hatch_meadow.testing.pty_board import PtyBoard
    from hatch_meadow.testing.simulator import SimulatedMeadow

    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    validate("deploy", run_json("deploy", "--dir", "c", "--port", "sim://l?runtime=enabled", "--listen", "10",
                                "--ready", "connected", cwd=tmp_path))
    (tmp_path / "c" / "private_key_pass.txt").write_text("wrong-passphrase")
    validate("deploy", run_json("deploy", "--dir", "c", "--port", "sim://l?runtime=enabled", "--listen", "10",
                                "--unchecked", cwd=tmp_path, codes=(1,)))
    with PtyBoard(SimulatedMeadow()) as pty:
        validate("listen", run_json("listen", "--port", pty.port, "--seconds", "0.5", cwd=tmp_path))
