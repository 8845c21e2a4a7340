"""The fast lane (``check`` and ``generate`` without click) must do exactly what click does, or step aside.

- Its option tables equal the click declarations (names, keyword, kind, allowed values, range).
- For any command line it takes, click parses the same keyword arguments (hypothesis over option soup).
- Both paths give the same output and exit code, as processes; a fast run imports no click.
- What it does not take (help, typos, bad values, a mistyped folder) goes to click's own messages.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatch_meadow.cli import COMMANDS as CLI_COMMANDS
from hatch_meadow.cli import fastlane
from hatch_meadow.creds.generate import generate_credentials


def _click_command(name: str) -> click.Command:
    module, attribute, _ = CLI_COMMANDS[name]
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command)
    return command


def _kind(param: click.Option) -> tuple[str, tuple[str, ...]]:
    if param.is_flag:
        return "flag", ()
    if isinstance(param.type, click.Choice):
        return "choice", tuple(str(c) for c in param.type.choices)
    if isinstance(param.type, click.IntRange):
        assert (param.type.min, param.type.max) == fastlane.DAYS_RANGE
        return "days", ()
    if isinstance(param.type, click.Path):
        return "path", ()
    assert param.type is click.STRING, param.type
    return "text", ()


@pytest.mark.parametrize("name", list(fastlane.COMMANDS))
def test_the_tables_mirror_the_click_declarations(name: str) -> None:
    declared = {}
    for param in _click_command(name).params:
        assert isinstance(param, click.Option)
        (long_name,) = [o for o in param.opts if o.startswith("--")]
        declared[long_name] = (param.name, *_kind(param))
    assert fastlane.COMMANDS[name][2]() == declared


# -- the same keyword arguments as click, for every command line the fast lane takes ---------------------


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("lane")
    (root / "proj").mkdir()
    (root / "proj" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (root / "plain").mkdir()
    (root / "a-file").write_text("x")
    return {"proj": str(root / "proj"), "plain": str(root / "plain"), "file": str(root / "a-file"),
            "missing": str(root / "missing")}


NOISE = ["--help", "-h", "--nope", "stray", "", "-x", "--json", "0", "+5", "36501", "RSA-2048"]


def _tokens(name: str, places: dict[str, str]) -> st.SearchStrategy[list[str]]:
    """Mostly well-formed option/value pairs (valid and invalid values for each kind), some noise between."""
    table = fastlane.COMMANDS[name][2]()
    good = {"text": ["dev-1", "MY_VAR", "a b"], "path": [places["proj"], places["plain"], places["missing"]],
            "days": ["1", "30", "36500", "007"]}
    bad = {"text": ["-x", ""], "path": [places["file"], "-", ""], "days": ["0", "36501", "+5", "x"],
           "choice": ["nope", ""]}

    @st.composite
    def soup(draw: st.DrawFn) -> list[str]:
        words: list[str] = []
        repeat = draw(st.integers(0, 9)) == 0  # now and then an option twice
        for option in draw(st.lists(st.sampled_from(list(table)), max_size=6, unique=not repeat)):
            _, kind, allowed = table[option]
            wrong = draw(st.integers(0, 9)) == 0
            if kind != "flag":
                value = draw(st.sampled_from(bad[kind] if wrong else (list(allowed) or good[kind])))
            form = draw(st.sampled_from(["separate", "equals"]))
            if kind == "flag":
                words.append(f"{option}=yes" if wrong else option)
            elif form == "separate":
                words += [option, value]
            else:
                words.append(f"{option}={value}")
            if draw(st.integers(0, 19)) == 0:
                words.append(draw(st.sampled_from(NOISE)))
        return words

    return soup()


@pytest.mark.parametrize("name", list(fastlane.COMMANDS))
def test_what_the_fast_lane_takes_click_parses_the_same(name: str, places: dict[str, str]) -> None:
    command = _click_command(name)
    taken = 0

    @settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(args=_tokens(name, places))
    def check_one(args: list[str]) -> None:
        nonlocal taken
        ours = fastlane.parse(name, args)
        if ours is None:
            return  # click's to handle
        taken += 1
        with command.make_context(name, list(args)) as ctx:
            assert ours == ctx.params, args

    check_one()
    assert taken > 50  # the property was exercised, not skipped


@pytest.mark.parametrize(("name", "args"), [
    ("check", ["--help"]), ("check", ["--dir"]), ("check", ["--profile", "nope"]), ("check", ["--strict=yes"]),
    ("check", ["--json", "--json"]), ("check", ["stray"]), ("check", ["--expires-within", "0"]),
    ("generate", ["--days", "36501"]), ("generate", ["--key-type", "RSA-2048"]), ("generate", ["--dir", ""]),
])
def test_what_it_does_not_take_goes_to_click(name: str, args: list[str]) -> None:
    assert fastlane.parse(name, args) is None


def test_a_mistyped_project_or_a_file_as_dir_goes_to_click(places: dict[str, str]) -> None:
    assert fastlane.parse("check", ["--project", places["missing"]]) is None
    assert fastlane.parse("check", ["--project", places["plain"]]) is None  # no pyproject.toml
    assert fastlane.parse("check", ["--dir", places["file"]]) is None
    assert fastlane.parse("check", ["--project", places["proj"], "--dir", places["missing"]]) is not None


# -- both paths, as processes --------------------------------------------------------------------------


def _run(args: list[str], cwd: Path, *, click_only: bool,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = ("import sys; from hatch_meadow.cli.app import run_click; sys.exit(run_click(sys.argv[1:]))"
            if click_only else
            "import sys; from hatch_meadow.cli import main; code = main(sys.argv[1:]); "
            "sys.stderr.write('CLICK LOADED' if 'click' in sys.modules else ''); sys.exit(code)")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HATCH_MEADOW_")}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          encoding="utf-8", check=False, env={**full_env, **(env or {})})


@pytest.mark.parametrize("args", [
    ["check", "--dir", "good"], ["check", "--dir=good", "--json"], ["check", "--dir", "bad"],
    ["check", "--dir", "bad", "--json", "--strict"], ["check", "--dir", "nothing-here"],
    ["check", "--dir", "good", "--device-id", "someone-else", "--profile", "mbedtls-3.6"],
    ["check", "--dir", "good", "--expires-within", "36500"],
])
def test_check_prints_the_same_either_way_and_the_fast_lane_loads_no_click(tmp_path: Path, args: list[str]) -> None:
    generate_credentials(tmp_path / "good", device_id="dev-1", key_type="ec-p256")
    generate_credentials(tmp_path / "bad", device_id="dev-1", key_type="ec-p256")
    (tmp_path / "bad" / "private_key_pass.txt").write_bytes(b"wrong passphrase")
    fast, slow = _run(args, tmp_path, click_only=False), _run(args, tmp_path, click_only=True)
    assert (fast.returncode, fast.stdout) == (slow.returncode, slow.stdout)
    assert fast.stderr.replace("CLICK LOADED", "") == slow.stderr
    assert "CLICK LOADED" not in fast.stderr
    if "--json" in args:
        assert json.loads(fast.stdout)["ok"] is (fast.returncode == 0)


def test_generate_the_same_either_way(tmp_path: Path) -> None:
    runs = {}
    for lane in ("fast", "click"):
        folder = tmp_path / lane
        folder.mkdir()
        args = ["generate", "--dir", "c", "--device-id", "dev-7", "--key-type", "ec-p256", "--key-encryption=des3",
                "--days", "30", "--json"]
        runs[lane] = _run(args, folder, click_only=lane == "click")
        assert runs[lane].returncode == 0, runs[lane].stderr
        again = _run(args, folder, click_only=lane == "click")  # exists: refused the same way
        assert again.returncode == 2
        runs[lane + "-again"] = again
    fast, slow = json.loads(runs["fast"].stdout), json.loads(runs["click"].stdout)
    for volatile in ("directory", "files", "not_after", "thumbprints", "az"):
        fast.pop(volatile), slow.pop(volatile)
    assert fast == slow
    assert "CLICK LOADED" not in runs["fast"].stderr
    assert runs["fast-again"].stdout.replace("fast", "LANE") == runs["click-again"].stdout.replace("click", "LANE")


def test_bad_usage_gets_clicks_message_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    for args, expected in ((["check", "--profile", "nope"], "Invalid value for '--profile'"),
                           (["check", "--dir", "a-file"], "a-file: is a file"),
                           (["generate", "--days", "0"], "Invalid value for '--days'"),
                           (["check", "--project", "no-such-folder"], "no such folder (mistyped?)")):
        run = _run(args, tmp_path, click_only=False)
        assert run.returncode == 2, (args, run.stderr)
        assert expected in run.stderr, run.stderr


# -- the edges a review found: they end as under click ---------------------------------------------------


def test_a_path_the_os_will_not_look_at_ends_as_under_click(tmp_path: Path) -> None:
    """A 300-character name (ENAMETOOLONG from the folder check) goes to click: same output, same exit."""
    for option in ("--dir", "--project"):
        args = ["check", option, "a" * 300, "--json"]
        fast, slow = _run(args, tmp_path, click_only=False), _run(args, tmp_path, click_only=True)
        assert (fast.returncode, fast.stdout) == (slow.returncode, slow.stdout)
        assert json.loads(fast.stdout)["ok"] is False


def test_an_ascii_only_stdout_gets_utf8_not_a_crash(tmp_path: Path) -> None:
    """PYTHONIOENCODING=ascii and a non-ASCII folder: generate and check finish on both paths (as click.echo
    did), instead of failing after the files are written."""
    for lane in ("fast", "click"):
        env = {"PYTHONIOENCODING": "ascii"}
        made = _run(["generate", "--dir", f"créds-{lane}", "--device-id", "d1", "--key-type", "ec-p256"], tmp_path,
                    click_only=lane == "click", env=env)
        assert made.returncode == 0, made.stderr
        assert f"wrote créds-{lane}" in made.stdout
        checked = _run(["check", "--dir", f"créds-{lane}"], tmp_path, click_only=lane == "click", env=env)
        assert checked.returncode == 0, checked.stderr
        assert f"creds     créds-{lane}" in checked.stdout


def test_a_closed_pipe_ends_quietly_as_under_click(tmp_path: Path) -> None:
    """`hatch-meadow check --json | head -0`: no traceback, the same exit code on both paths."""
    generate_credentials(tmp_path / "good", device_id="dev-1", key_type="ec-p256")
    codes = {}
    for lane in ("fast", "click"):
        entry = ("from hatch_meadow.cli import run; run()" if lane == "fast" else
                 "import sys; from hatch_meadow.cli.app import run_click; sys.exit(run_click(sys.argv[1:]))")
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            done = subprocess.run([sys.executable, "-c", entry, "check", "--dir", "good", "--json"], cwd=tmp_path,
                                  stdout=write_end, stderr=subprocess.PIPE, text=True, check=False)
        finally:
            os.close(write_end)
        assert "Traceback" not in done.stderr, done.stderr
        codes[lane] = done.returncode
    assert codes["fast"] == codes["click"] == 1


def test_shell_completion_is_clicks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Click answers completion requests, so the lane steps aside when one is asked."""
    monkeypatch.setenv("_HATCH_MEADOW_COMPLETE", "bash_complete")
    assert fastlane.run(["check", "--dir", str(tmp_path)]) is None
