"""`hatch-meadow new` / `update`: the copier template, rendered projects that really build, and updates."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import EXAMPLE, REPO, hatchling_build
from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from hatch_meadow import scaffold
from hatch_meadow.errors import TemplateError
from hatch_meadow.names import CREDENTIAL_FILES, ITEM_GROUP_LABEL

pytest.importorskip("copier")
yaml = pytest.importorskip("yaml")  # copier's dependency

TEMPLATE = REPO / "templates" / "meadow-app"
#: The documented answers example_project is rendered with (also in example_project/.copier-answers.yml).
EXAMPLE_ANSWERS = {
    "project_name": "meadow-example-001", "app_name": "MeadowApp", "board": "F7FeatherV2",
    "device_id": "meadow-example-001", "iot_hub": "my-meadow-hub", "key_type": "rsa-2048",
    "key_encryption": "aes-256", "telemetry_sample": True, "commit_certificate": False,
}
#: What a build (or the user, by hand) leaves in a project; never part of what the template renders.
BUILD_LEFTOVERS = {*CREDENTIAL_FILES, "dist", ".hatch-meadow", "bin", "obj", "__pycache__"}
BASE_CLASS = {"F7FeatherV2": "App<F7FeatherV2>", "F7CoreComputeV2": "App<F7CoreComputeV2>",
              "ProjectLab": "ProjectLabCoreComputeApp"}
GIT_ID = ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main"]


def run_cli(*args: str, cwd: Path | None = None, prelude: str = "") -> subprocess.CompletedProcess[str]:
    """hatch-meadow in a subprocess, as a user runs it (``prelude`` runs first, e.g. to hide copier)."""
    code = f"{prelude}import sys; from hatch_meadow.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HATCH_") or k == "HATCH_MEADOW_STATE_DIR"}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def tree(root: Path) -> dict[str, bytes]:
    """Files under root, without build leftovers."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not BUILD_LEFTOVERS & set(p.relative_to(root).parts)}


def cn_of(cert: Path) -> str:
    name = x509.load_pem_x509_certificate(cert.read_bytes()).subject
    return str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def credential_members(archive: Path) -> list[str]:
    if archive.suffix == ".whl":
        names = zipfile.ZipFile(archive).namelist()
    else:
        with tarfile.open(archive) as sdist:
            names = sdist.getnames()
    return [n for n in names if Path(n).name in CREDENTIAL_FILES or n.endswith(".pem.orig")]


def render(root: Path, **answers: object) -> Path:
    scaffold.render_project(root, answers)
    return root


# --- rendering ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("telemetry", [True, False], ids=["telemetry", "plain"])
@pytest.mark.parametrize("board", scaffold.BOARDS)
def test_render_every_board_matches_meadow_conventions(tmp_path: Path, board: str, telemetry: bool) -> None:
    """Each board gets its csproj (Sdk, TFM, packages, config items copied Always) and its app base class."""
    root = render(tmp_path / "proj", board=board, telemetry_sample=telemetry, app_name="Blinky", device_id="dev-1")
    app = root / "Blinky"
    xml = etree.fromstring((app / "Blinky.csproj").read_bytes())
    assert xml.get("Sdk") == "Meadow.Sdk/1.1.0"
    props = {el.tag: el.text for el in xml.iterfind("PropertyGroup/*")}
    expected_props = {"TargetFramework": "netstandard2.1", "CopyLocalLockFileAssemblies": "true",
                      "OutputType": "Library", "AssemblyName": "App", "LangVersion": "10.0"}
    if board == "ProjectLab":
        expected_props["Nullable"] = "enable"
    assert props == expected_props
    packages = {el.get("Include"): el.get("Version") for el in xml.iterfind("ItemGroup/PackageReference")}
    expected_packages = ({"Meadow.ProjectLab": "2.*"} if board == "ProjectLab"
                         else {"Meadow.F7": "2.*", "Meadow.Foundation": "2.*"})
    if telemetry:
        expected_packages["Meadow.MQTT"] = "*"
    assert packages == expected_packages
    configs = ["meadow.config.yaml", "app.config.yaml", "wifi.config.yaml"]
    if board == "ProjectLab":
        configs.append("app.build.yaml")
    items = {el.get("Update"): el.findtext("CopyToOutputDirectory") for el in xml.iterfind("ItemGroup/None")}
    assert items == dict.fromkeys(configs, "Always")
    assert sorted(p.name for p in app.iterdir() if p.is_file()) == sorted(["Blinky.csproj", "MeadowApp.cs", *configs])
    assert (app / ".vscode" / "launch.json").is_file()

    code = (app / "MeadowApp.cs").read_text()
    assert "namespace Blinky;" in code
    assert f"public class MeadowApp : {BASE_CLASS[board]}\n" in code
    assert "{{" not in code
    assert "{%" not in code
    assert ("MQTTnet" in code) is telemetry
    for forbidden in ("X509Certificate", "ClientCertificate", "Password", "private_key"):
        assert forbidden not in code.replace("private_key.pem", "").replace("private_key_pass.txt", "")
    if telemetry:
        for needed in ('$"{hubName}.azure-devices.net"', "MqttsPort = 8883", "MqttProtocolVersion.V311",
                       ".WithClientId(deviceId)", '$"{host}/{deviceId}/?api-version={ApiVersion}", (string?)null',
                       'ApiVersion = "2021-04-12"', '$"devices/{deviceId}/messages/events/"', "SslProtocols.Tls12"):
            assert needed in code
        config = (app / "app.config.yaml").read_text()
        assert 'Name: "my-meadow-hub"' in config
        assert 'DeviceId: "dev-1"' in config
    toml = (root / "pyproject.toml").read_text()
    assert '[build-system]\nrequires = ["hatchling>=1.24", "hatch-meadow"]' in toml
    assert ('[tool.hatch.build.hooks.meadow]\ncsproj = "Blinky/Blinky.csproj"\ndevice-id = "dev-1"\n'
            'key-type = "rsa-2048"\nkey-encryption = "aes-256"\n') in toml
    workflow = (root / ".github" / "workflows" / "meadow.yml").read_text()
    assert "HATCH_MEADOW_KEY_PASSPHRASE: ${{ secrets.HATCH_MEADOW_KEY_PASSPHRASE }}" in workflow
    assert "hatch-meadow check --strict --json" in workflow
    assert "python -m build --wheel" in workflow
    for path in [*root.rglob("*.yaml"), *root.rglob("*.yml")]:
        assert isinstance(yaml.safe_load(path.read_text()), dict | None), path
    assert json.loads((app / ".vscode" / "launch.json").read_text())["configurations"][0]["type"] == "meadow"
    readme = (root / "README.md").read_text()
    assert "hatch-meadow thumbprint --hub my-meadow-hub" in readme
    assert "--am x509_thumbprint" in readme


@pytest.mark.parametrize("board", scaffold.BOARDS)
def test_rendered_project_builds_with_hatchling_and_the_plugin(tmp_path: Path, board: str) -> None:
    """A wheel build of the fresh project makes credentials (CN = device id) and adds the 3 items to the csproj."""
    root = render(tmp_path / "proj", board=board, device_id=f"{board.lower()}-7")
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    app = root / "MeadowApp"
    assert cn_of(app / "client_cert.pem") == f"{board.lower()}-7"
    xml = etree.fromstring((app / "MeadowApp.csproj").read_bytes())
    (group,) = xml.findall(f"ItemGroup[@Label='{ITEM_GROUP_LABEL}']")
    assert {el.get("Update"): el.findtext("CopyToOutputDirectory") for el in group} == dict.fromkeys(
        CREDENTIAL_FILES, "Always")
    (wheel,) = run.artifacts
    assert credential_members(wheel) == []


@pytest.mark.parametrize("commit_certificate", [False, True], ids=["cert-ignored", "cert-committed"])
def test_gitignore_keeps_secrets_out_of_git_and_the_sdist(tmp_path: Path, commit_certificate: bool) -> None:
    """In a git repository, after a build, no credential is tracked or packed into the sdist or the wheel."""
    root = render(tmp_path / "proj", device_id="dev-2", commit_certificate=commit_certificate)
    git("init", "-q", cwd=root)
    assert hatchling_build(root).returncode == 0
    git("add", "-A", cwd=root)
    tracked = git("ls-files", cwd=root).split()
    assert not [t for t in tracked if Path(t).name in {"private_key.pem", "private_key_pass.txt"}]
    assert not [t for t in tracked if t.startswith(".hatch-meadow/")]
    assert ("MeadowApp/client_cert.pem" in tracked) is commit_certificate
    run = hatchling_build(root, target="sdist")
    assert run.returncode == 0, run.output
    (sdist,) = [a for a in run.artifacts if a.name.endswith(".tar.gz")]
    assert credential_members(sdist) == []
    for artifact in run.artifacts:
        assert credential_members(artifact) == []


def test_new_demo_app_builds_as_its_readme_says(tmp_path: Path) -> None:
    """The issue's demo: `new demo-app --defaults …`, then the README's build: valid credentials, no secret out."""
    proc = run_cli("new", "demo-app", "--defaults", "--board", "F7FeatherV2", "--device-id", "dev-001", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    root = tmp_path / "demo-app"
    readme = (root / "README.md").read_text()
    command = "python -m build --wheel --no-isolation"
    assert f"```bash\n{command}" in readme
    env = {k: v for k, v in os.environ.items() if not k.startswith("HATCH_") or k == "HATCH_MEADOW_STATE_DIR"}
    build = subprocess.run([sys.executable, *command.split()[1:]], cwd=root, env=env, capture_output=True,
                           text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    app = root / "MeadowApp"
    assert cn_of(app / "client_cert.pem") == "dev-001"
    assert (f'<ItemGroup Label="{ITEM_GROUP_LABEL}" Condition="\'$(Configuration)\' == \'Debug\'">'
            in (app / "MeadowApp.csproj").read_text())  # the template's safe default: Debug builds only
    check = run_cli("check", "--strict", "--json", cwd=root)
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["parse"] == "accept"
    (wheel,) = (root / "dist").iterdir()
    assert credential_members(wheel) == []


def test_example_project_is_the_template_rendered_with_documented_answers(tmp_path: Path) -> None:
    """example_project/ never drifts from the template: a fresh render with its answers is byte-identical."""
    fresh = tmp_path / EXAMPLE.name
    scaffold.render_project(fresh, EXAMPLE_ANSWERS)
    expected, actual = tree(fresh), tree(EXAMPLE)
    differing = sorted(p for p in expected.keys() | actual.keys() if expected.get(p) != actual.get(p))
    assert not differing, (
        f"example_project differs from the template in {differing}: re-render it with "
        "`hatch-meadow update example_project --yes` (its csproj must stay unpatched: "
        "`hatch-meadow patch-csproj --remove example_project/MeadowApp/MeadowApp.csproj` after an in-place build)"
    )
    stored = scaffold.load_answers(EXAMPLE)
    assert {key: stored[key] for key in EXAMPLE_ANSWERS} == EXAMPLE_ANSWERS


# --- answers: the Python rules and copier.yml's validators agree ----------------------------------------


def test_copier_yml_lists_match_the_python_rules() -> None:
    """The keyword, device-name and taken-name lists in copier.yml are the ones scaffold.py checks."""
    text = (TEMPLATE / "copier.yml").read_text()

    def jinja_list(name: str) -> set[str]:
        found = re.search(rf"set {name} = (\[.*?\])", text, re.DOTALL)
        assert found, name
        return set(ast.literal_eval(found[1].replace("\n", " ")))

    assert jinja_list("keywords") == scaffold.CSHARP_KEYWORDS
    assert jinja_list("device_names") == scaffold.WINDOWS_DEVICE_NAMES
    assert jinja_list("taken") == scaffold.TAKEN_APP_NAMES
    questions = {k: v for k, v in yaml.safe_load(text).items() if not k.startswith("_")}
    assert {k: {"str": str, "bool": bool}[v["type"]] for k, v in questions.items()} == scaffold.QUESTION_TYPES
    assert list(questions) == list(scaffold.QUESTION_TYPES)
    assert list(questions["board"]["choices"].values()) == list(scaffold.BOARDS)
    assert questions["key_type"]["choices"] == list(scaffold.KEY_TYPES)
    assert questions["key_encryption"]["choices"] == list(scaffold.KEY_ENCRYPTIONS)


@pytest.mark.parametrize(("question", "value"), [
    ("app_name", "1Blinky"), ("app_name", "My-App"), ("app_name", "class"), ("app_name", "con"),
    ("app_name", "Meadow"), ("app_name", "A" * 65), ("device_id", "dev 001"), ("device_id", "d" * 65),
    ("device_id", "caf\u00e9"), ("iot_hub", "-hub"), ("iot_hub", "ab"), ("project_name", "-x"),
    ("app_name", "Blinky_2"), ("device_id", "dev-001:a@b"), ("device_id", "d" * 64), ("iot_hub", "my-hub-1"),
])
def test_copier_validators_agree_with_python(tmp_path: Path, question: str, value: str) -> None:
    """Plain `copier copy` refuses exactly the answers `hatch-meadow new` refuses."""
    from copier import run_copy

    python_refuses = bool(scaffold.check_answers({question: value}))
    try:
        run_copy(str(TEMPLATE), tmp_path / "out", data={question: value}, defaults=True, quiet=True)
    except ValueError:
        copier_refuses = True
    else:
        copier_refuses = False
    assert copier_refuses == python_refuses


def test_check_answers_messages() -> None:
    """Every problem at once, each naming its question."""
    problems = scaffold.check_answers({"board": "F7Feather", "app_name": "class", "device_id": "a" * 65,
                                       "telemetry_sample": "yes", "colour": "blue"})
    assert problems == [
        "board: must be one of F7FeatherV2, F7CoreComputeV2, ProjectLab, not 'F7Feather' (did you mean 'F7FeatherV2'?)",
        "app_name: 'class' is a C# keyword",
        "device_id: must be at most 64 characters, not 65: it is also the certificate's CN, which X.509 limits "
        "to 64 (Azure itself allows 128)",
        "telemetry_sample: must be true or false, not str",
        "colour: not a question of the meadow-app template (known: project_name, app_name, board, device_id, "
        "iot_hub, key_type, key_encryption, telemetry_sample, commit_certificate)",
    ]


# --- the CLI: bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["--app-name", "My-App"], "--app-name: 'My-App' is not a C# identifier"),
    (["--app-name", "class"], "--app-name: 'class' is a C# keyword"),
    (["--device-id", "dev 001"], "--device-id: contains ' ', which Azure IoT Hub does not allow"),
    (["--device-id", "d" * 129], "--device-id: must be at most 64 characters, not 129: it is also the certificate's"),
    (["--device-id", "d" * 65], "--device-id: must be at most 64 characters, not 65: it is also the certificate's CN"),
    (["--board", "F7Micro"], "--board: must be one of F7FeatherV2, F7CoreComputeV2, ProjectLab, not 'F7Micro'"),
    (["--hub", "my_hub"], "--hub: 'my_hub' is not an IoT Hub name"),
])
def test_new_bad_answers_exit_2_and_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    """An invalid answer: one paragraph naming it, exit 2, DEST not even created."""
    proc = run_cli("new", "proj", "--defaults", *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "proj").exists()


def test_new_bad_answer_with_json_prints_the_error_object(tmp_path: Path) -> None:
    """--json: stdout holds exactly one JSON error object."""
    proc = run_cli("new", "proj", "--board", "Feather", "--json", cwd=tmp_path)
    assert proc.returncode == 2
    error = json.loads(proc.stdout)
    assert error["ok"] is False
    assert error["error"]["exit_code"] == 2
    assert "did you mean 'F7FeatherV2'?" in error["error"]["message"]


def test_new_refuses_a_file_and_a_non_empty_folder(tmp_path: Path) -> None:
    """DEST a file, or a non-empty folder without --force: exit 2, nothing touched; --force keeps other files."""
    (tmp_path / "afile").write_text("mine")
    proc = run_cli("new", "afile", "--defaults", cwd=tmp_path)
    assert proc.returncode == 2
    assert "afile: is a file, not a folder" in proc.stderr
    assert (tmp_path / "afile").read_text() == "mine"

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me")
    proc = run_cli("new", "busy", "--defaults", cwd=tmp_path)
    assert proc.returncode == 2
    assert "busy: is not empty" in proc.stderr
    assert "--force" in proc.stderr
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]

    proc = run_cli("new", "busy", "--defaults", "--force", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (busy / "notes.txt").read_text() == "keep me"
    assert (busy / "pyproject.toml").is_file()


def test_new_into_a_fresh_git_repository_is_allowed(tmp_path: Path) -> None:
    """A folder holding only .git counts as empty."""
    (tmp_path / "repo").mkdir()
    git("init", "-q", cwd=tmp_path / "repo")
    scaffold.render_project(tmp_path / "repo", {"device_id": "dev-3"})
    assert (tmp_path / "repo" / "pyproject.toml").is_file()


def test_new_without_copier_says_what_to_install(tmp_path: Path) -> None:
    """copier missing: exit 2, the exact install command, nothing written."""
    proc = run_cli("new", "proj", "--defaults", cwd=tmp_path, prelude="import sys; sys.modules['copier'] = None; ")
    assert proc.returncode == 2, proc.stderr
    assert "need copier, which is not installed" in proc.stderr
    assert "pip install 'hatch-meadow[new]'" in proc.stderr
    assert not (tmp_path / "proj").exists()


def test_new_json_reports_answers_and_files(tmp_path: Path) -> None:
    """--json: one object with the final answers (defaults filled in) and the files written."""
    proc = run_cli("new", "my-app", "--json", "--board", "ProjectLab", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["answers"] == {
        "project_name": "my-app", "app_name": "MeadowApp", "board": "ProjectLab", "device_id": "my-app",
        "iot_hub": "my-meadow-hub", "key_type": "rsa-2048", "key_encryption": "aes-256",
        "telemetry_sample": True, "commit_certificate": False}
    assert "MeadowApp/app.build.yaml" in report["files"]
    assert ".copier-answers.yml" in report["files"]
    answers = scaffold.load_answers(tmp_path / "my-app")
    assert answers["_src_path"] == scaffold.PACKAGED_SOURCE
    assert answers[scaffold.VERSION_KEY] == scaffold.__version__
    assert answers["_commit"] == f"v{scaffold.__version__}"
    assert set(answers[scaffold.BASELINE_KEY]) == set(report["files"]) - {".copier-answers.yml"}


# --- update ---------------------------------------------------------------------------------------------


@pytest.fixture(name="newer_template")
def _newer_template(tmp_path: Path) -> Path:
    """A copy of the template standing for the next release."""
    copy = tmp_path / "template-next"
    shutil.copytree(TEMPLATE, copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_update_rerender_applies_template_changes_and_keeps_user_edits(tmp_path: Path, newer_template: Path) -> None:
    """Offline update: a template-only change arrives, user-only edits stay, a file both changed gets FILE.new."""
    root = render(tmp_path / "proj", device_id="dev-4")
    tpl = newer_template / "template"
    edit(tpl / "README.md.jinja", "## CI\n", "## CI (newer template)\n")
    edit(tpl / "{{ app_name }}" / "meadow.config.yaml.jinja", "MaximumRetryCount: 7", "MaximumRetryCount: 9")
    (tpl / "{{ app_name }}" / "NOTICE.txt").write_text("new in the next release\n")
    edit(root / "MeadowApp" / "MeadowApp.cs", "TelemetryInterval = TimeSpan.FromSeconds(10)",
         "TelemetryInterval = TimeSpan.FromSeconds(60)")
    edit(root / "MeadowApp" / "meadow.config.yaml", "Name: MeadowApp", "Name: Greenhouse")
    before = tree(root)

    plan = scaffold.update_project(root, template=newer_template)
    assert plan.mode == "re-render"
    assert not plan.applied
    assert tree(root) == before
    assert {(c.path, c.action) for c in plan.changes} == {
        ("README.md", "update"), ("MeadowApp/NOTICE.txt", "add"),
        ("MeadowApp/meadow.config.yaml.new", "conflict"), (".copier-answers.yml", "update")}
    assert "+## CI (newer template)" in plan.diff
    assert "--- a/MeadowApp/meadow.config.yaml\n+++ b/MeadowApp/meadow.config.yaml.new" in plan.diff
    assert "-  MaximumRetryCount: 7\n+  MaximumRetryCount: 9" in plan.diff
    assert plan.conflicts == ("MeadowApp/meadow.config.yaml.new",)

    done = scaffold.update_project(root, template=newer_template, yes=True)
    assert done.applied
    assert "## CI (newer template)" in (root / "README.md").read_text()
    assert (root / "MeadowApp" / "NOTICE.txt").is_file()
    assert "FromSeconds(60)" in (root / "MeadowApp" / "MeadowApp.cs").read_text()
    config = (root / "MeadowApp" / "meadow.config.yaml").read_text()
    assert "Name: Greenhouse" in config
    assert "MaximumRetryCount: 7" in config
    assert "MaximumRetryCount: 9" in (root / "MeadowApp" / "meadow.config.yaml.new").read_text()
    assert scaffold.update_project(root, template=newer_template).changes == ()


def test_update_replaces_a_built_csproj_and_the_next_build_repatches_it(tmp_path: Path, newer_template: Path) -> None:
    """The build's ItemGroup is not a user edit: a template csproj change is applied, the next build re-adds it."""
    root = render(tmp_path / "proj", device_id="dev-5")
    assert hatchling_build(root).returncode == 0
    edit(newer_template / "template" / "{{ app_name }}" / "{{ app_name }}.csproj.jinja",
         '<LangVersion>10.0</LangVersion>', '<LangVersion>11.0</LangVersion>')
    result = scaffold.update_project(root, template=newer_template, yes=True)
    (change,) = [c for c in result.changes if c.path.endswith(".csproj")]
    assert change.action == "update"
    assert "adds the hatch-meadow ItemGroup again" in change.detail
    csproj = root / "MeadowApp" / "MeadowApp.csproj"
    assert "<LangVersion>11.0</LangVersion>" in csproj.read_text()
    assert ITEM_GROUP_LABEL not in csproj.read_text()
    assert hatchling_build(root).returncode == 0
    assert f'<ItemGroup Label="{ITEM_GROUP_LABEL}"' in csproj.read_text()
    assert scaffold.update_project(root, template=newer_template).changes == ()


def test_update_cli_dry_run_then_yes(tmp_path: Path, newer_template: Path) -> None:
    """`update --dry-run` prints the diff and exits 1 writing nothing; `--yes` writes; then it is up to date."""
    root = render(tmp_path / "proj", device_id="dev-6")
    edit(newer_template / "template" / "README.md.jinja", "## CI\n", "## Continuous integration\n")
    proc = run_cli("update", str(root), "--template", str(newer_template), "--dry-run")
    assert proc.returncode == 1, proc.stderr
    assert "+## Continuous integration" in proc.stdout
    assert "nothing written" in proc.stdout
    assert "## CI\n" in (root / "README.md").read_text()
    proc = run_cli("update", str(root), "--template", str(newer_template))  # not a terminal: needs --yes
    assert proc.returncode == 1
    assert "pass --yes to apply" in proc.stdout
    proc = run_cli("update", str(root), "--template", str(newer_template), "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["applied"] is True
    assert report["mode"] == "re-render"
    assert {c["path"] for c in report["changes"]} == {"README.md", ".copier-answers.yml"}
    assert "## Continuous integration" in (root / "README.md").read_text()
    proc = run_cli("update", str(root), "--template", str(newer_template))
    assert proc.returncode == 0
    assert "up to date" in proc.stderr


def test_update_packaged_template_is_up_to_date_right_after_new(tmp_path: Path) -> None:
    """With the same hatch-meadow, `update` finds nothing to do."""
    root = render(tmp_path / "proj", device_id="dev-7")
    result = scaffold.update_project(root)
    assert (result.mode, result.changes, result.notes) == ("re-render", (), ())


def test_update_copier_merge_from_a_tagged_git_template(tmp_path: Path) -> None:
    """Git source reachable with the project's tag: copier's 3-way merge keeps an edit in the same file."""
    repo = tmp_path / "template-repo"
    shutil.copytree(TEMPLATE, repo)
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "template 0.1.0", cwd=repo)
    git("tag", "v0.1.0", cwd=repo)
    root = tmp_path / "proj"
    scaffold.render_project(root, {"device_id": "dev-8"}, template=str(repo))
    assert scaffold.load_answers(root)["_commit"] == "v0.1.0"
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "new project", cwd=root)

    edit(repo / "template" / "{{ app_name }}" / "meadow.config.yaml.jinja", "MaximumRetryCount: 7",
         "MaximumRetryCount: 9")
    git("commit", "-qam", "template 0.2.0", cwd=repo)
    git("tag", "v0.2.0", cwd=repo)
    edit(root / "MeadowApp" / "meadow.config.yaml", "Name: MeadowApp", "Name: Greenhouse")
    git("commit", "-qam", "my board name", cwd=root)

    plan = scaffold.update_project(root)
    assert (plan.mode, plan.from_version, plan.to_version, plan.applied) == ("copier-update", "0.1.0", "0.2.0", False)
    assert {(c.path, c.action) for c in plan.changes} == {
        ("MeadowApp/meadow.config.yaml", "update"), (".copier-answers.yml", "update")}
    assert git("status", "--porcelain", cwd=root) == ""
    assert scaffold.update_project(root, yes=True).applied
    config = (root / "MeadowApp" / "meadow.config.yaml").read_text()
    assert "Name: Greenhouse" in config
    assert "MaximumRetryCount: 9" in config
    assert scaffold.load_answers(root)["_commit"] == "v0.2.0"
    with pytest.raises(TemplateError, match="uncommitted changes"):
        scaffold.update_project(root)


def test_update_falls_back_to_rerender_when_the_git_source_is_unreachable(tmp_path: Path) -> None:
    """A recorded git source that does not answer: re-render from the installed package, with a note."""
    root = render(tmp_path / "proj", device_id="dev-9")
    answers = root / scaffold.ANSWERS_FILE
    unreachable = (tmp_path / "gone.git").as_uri()
    answers.write_text(answers.read_text().replace(f'"{scaffold.PACKAGED_SOURCE}"', json.dumps(unreachable)))
    result = scaffold.update_project(root)
    assert result.mode == "re-render"
    assert any("cannot be reached" in note for note in result.notes)
    assert result.changes == ()
    assert scaffold.load_answers(root)["_src_path"] == unreachable  # kept for when it is reachable again
    with pytest.raises(TemplateError, match="cannot be reached"):
        scaffold.update_project(root, template=unreachable)


def test_update_refuses_what_it_cannot_update(tmp_path: Path) -> None:
    """No answers file, or a project from a newer hatch-meadow: exit 2, nothing written."""
    (tmp_path / "plain").mkdir()
    proc = run_cli("update", str(tmp_path / "plain"))
    assert proc.returncode == 2
    assert "was not made by `hatch-meadow new`" in proc.stderr
    root = render(tmp_path / "proj", device_id="dev-10")
    answers = root / scaffold.ANSWERS_FILE
    answers.write_text(answers.read_text().replace(f'{scaffold.VERSION_KEY}: "{scaffold.__version__}"',
                                                   f'{scaffold.VERSION_KEY}: "99.0"'))
    before = tree(root)
    proc = run_cli("update", str(root), "--yes")
    assert proc.returncode == 2
    assert "newer than the installed" in proc.stderr
    assert tree(root) == before


def test_new_next_steps_are_shell_quoted(tmp_path: Path) -> None:
    """A DEST with a space: the printed `cd` line works when pasted into a shell."""
    proc = run_cli("new", "My Project", "--defaults", "--device-id", "dev-001", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "  cd 'My Project'\n" in proc.stdout
    assert (tmp_path / "My Project" / "pyproject.toml").is_file()
