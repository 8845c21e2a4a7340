"""The ``meadow`` build hook: a thin shell that validates options and calls the library.

When it acts (see the README's frontend table):

* wheel, standard or editable: run the build step (credentials, csproj); never deploy for editable;
* sdist: only check that no credential file would be packed;
* a wheel built from an unpacked sdist (``python -m build`` without ``--wheel``): do nothing but say
  so, because changes in that temporary tree would be thrown away;
* finalize (every target): open the artifact and make sure no credential file got in.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

from hatch_meadow.config import MeadowConfig, hook_table_path, load_config, skip_requested, with_default_device_id
from hatch_meadow.errors import MeadowError
from hatch_meadow.names import PLUGIN_NAME as HOOK_NAME
from hatch_meadow.names import Env

_PREFIX = "hatch-meadow: "


#: Set by pip for every build it runs (hatchling checks it too); pip builds the wheel to read its metadata.
PIP_BUILD_TRACKER = "PIP_BUILD_TRACKER"


class MeadowBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Provision a Meadow app's TLS client credentials as part of a hatchling build."""

    PLUGIN_NAME = HOOK_NAME

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._config: MeadowConfig | None = None

    # -- hatchling entry points -------------------------------------------------------------

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Run before each build of the target."""
        self._guarded(self._initialize, version, build_data)

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Run after each build: refuse an artifact that contains credentials."""
        self._guarded(self._finalize, artifact_path)

    def clean(self, versions: list[str]) -> None:
        """``hatch clean`` / ``-c``: remove hatch-meadow's ItemGroup from the csproj (never credentials)."""
        self._guarded(self._clean)

    # -- implementation ---------------------------------------------------------------------

    def _guarded(self, step: Any, *args: Any) -> None:
        try:
            step(*args)
        except MeadowError as exc:
            from hatch_meadow.textsafe import printable

            self.app.abort(_PREFIX + printable(exc.render()).replace("\nhint: ", "\n  hint: "), code=exc.exit_code)

    @property
    def _where(self) -> str:
        target_hooks = self.build_config.target_config.get("hooks", {})
        target = self.target_name if HOOK_NAME in target_hooks else None
        return hook_table_path(target, hatch_toml=(Path(self.root) / "hatch.toml").is_file())

    def _load(self) -> MeadowConfig | None:
        if self._config is None:
            if skip_requested(os.environ):
                self.app.display_info(f"{_PREFIX}skipped ({Env.SKIP} is set)")
                return None
            config = with_default_device_id(load_config(self.config, self._where), self.metadata.name, self._where)
            self._config = config
        return self._config

    def _is_unpacked_sdist(self) -> bool:
        root = Path(self.root)
        return (root / "PKG-INFO").is_file() or any(p.name.startswith("build-via-sdist-") for p in root.parents)

    def _initialize(self, version: str, build_data: dict[str, Any]) -> None:
        config = self._load()
        if config is None:
            return
        if self.target_name == "sdist":
            self._check_sdist(config, build_data)
            return
        if self.target_name != "wheel":
            self.app.display_debug(f"{_PREFIX}nothing to do for the {self.target_name} target", level=1)
            return
        if self._is_unpacked_sdist():
            self.app.display_warning(
                f"{_PREFIX}this wheel is being built from an unpacked sdist in {self.root}; credentials and "
                "csproj changes made there would be thrown away, so hatch-meadow does nothing. Build the wheel "
                "from your checkout: `python -m build --wheel`, `hatch build` or `pip wheel .`"
            )
            return
        from hatch_meadow.prepare import prepare_project

        def info(message: str) -> None:
            from hatch_meadow.textsafe import printable

            self.app.display_info(_PREFIX + printable(message))

        outcome = prepare_project(Path(self.root), config, where=self._where, info=info,
                                  warn=lambda m: self.app.display_warning(_PREFIX + m))
        self._warn_about_git(outcome.layout.credentials_dir, config)
        if config.deploy and version == "editable":
            info("not deploying from an editable install")
        elif config.deploy and PIP_BUILD_TRACKER in os.environ:
            self.app.display_warning(
                f"{_PREFIX}not deploying from a pip build: pip builds the wheel while it only prepares metadata, "
                "also for `pip install --dry-run` and `pip download`, so no board is written from pip. Deploy with "
                "`hatch-meadow deploy`, or build with `python -m build --wheel` or `hatch build`")
        elif config.deploy:
            from hatch_meadow.deploy_job import plan_deploy, run_deploy_job

            job = plan_deploy(config, outcome.layout, credentials_dir=outcome.layout.credentials_dir,
                              port=config.port, where=self._where)
            result = run_deploy_job(job, info=info, warn=lambda m: self.app.display_warning(_PREFIX + m))
            info(f"deployed to {result.serial} on {result.port}: credentials {result.credentials}, "
                 f"{len(result.sent)} file(s), {result.file_bytes} bytes, {result.seconds:.2f} s")
            self._judge_board_log(result.board_log, info)

    def _judge_board_log(self, board_log: dict[str, Any] | None, info: Callable[[str], None]) -> None:
        """``listen-seconds``: the app's ready line is reported, its credential or TLS error fails the build."""
        from hatch_meadow.errors import FindingsError
        from hatch_meadow.textsafe import printable

        if board_log is None:
            return
        line = board_log["decisive_line"]
        if board_log["verdict"] == "ready":
            info(f"the board's app reports ready: {line['text']}")
        elif board_log["verdict"] == "silent":
            self.app.display_warning(_PREFIX + f"the board's app printed no ready line and no credential or TLS "
                                     f"error within {board_log['seconds']:g} s (listen-seconds)")
        else:
            error = line["error"]
            raise FindingsError(printable(f"the board's app reports a credential or TLS error: {line['text']}"
                                          + (f"; {error['cause']}" if error["cause"] else "")),
                                hint=error["fixes"][0] if error["fixes"] else "run `hatch-meadow explain` on it")

    def _warn_about_git(self, credentials_dir: Path, config: MeadowConfig) -> None:
        """Secrets git tracks or would add: a warning per finding (an error under ``strict``)."""
        from hatch_meadow.errors import FindingsError
        from hatch_meadow.gitcheck import git_findings
        from hatch_meadow.textsafe import printable

        findings = git_findings(credentials_dir, strict=config.strict)
        for finding in findings:
            self.app.display_warning(_PREFIX + printable(f"[{finding.code}] {finding.message}; fix: {finding.fix}"))
        if any(f.severity == "error" for f in findings):
            raise FindingsError("git tracks or would commit the private key or its passphrase (strict)",
                                hint="`hatch-meadow untrack`, then commit")

    def _credential_paths(self, config: MeadowConfig) -> list[str]:
        from hatch_meadow.prepare import credential_files_relative_to_root
        from hatch_meadow.project import resolve_layout

        return credential_files_relative_to_root(resolve_layout(Path(self.root), config, self._where))

    def _secrets(self, config: MeadowConfig) -> list[bytes]:
        """This project's key and passphrase bytes (searched for in artifacts; never shown)."""
        from hatch_meadow.names import PASS_FILE, PRIVATE_KEY

        try:
            folder = self._layout(config).credentials_dir
        except MeadowError:
            return []
        found = []
        for name in (PRIVATE_KEY, PASS_FILE):
            with contextlib.suppress(OSError):
                data = (folder / name).read_bytes()
                found += [data, data.strip()] if name == PASS_FILE else [data]
        return [d for d in found if d]

    def _layout(self, config: MeadowConfig) -> Any:
        from hatch_meadow.project import resolve_layout

        return resolve_layout(Path(self.root), config, self._where)

    def _check_sdist(self, config: MeadowConfig, build_data: dict[str, Any]) -> None:
        """Before packing: every file the sdist would hold, by content (any name) and by name."""
        from hatch_meadow.scan import scan_named_files

        included = [(f.distribution_path, Path(f.path)) for f in self.build_config.builder.recurse_included_files()]
        forced = [(str(dest), Path(src)) for src, dest in build_data.get("force_include", {}).items()]
        report = scan_named_files([*included, *forced], self._secrets(config))
        hits = [f"{h.where}: {h.what}" for h in report.hits]
        sources = {os.path.normpath(str(p)) for _, p in [*included, *forced]}
        hits += [f"{rel}: a credential file of this project" for rel in self._credential_paths(config)
                 if os.path.normpath(os.path.join(self.root, rel)) in sources and not any(h.startswith(rel + ":")
                                                                                        for h in hits)]
        if hits:
            listed = "; ".join(hits)
            raise MeadowError(
                f"the sdist would contain private-key material: {listed}",
                hint="add those files to .gitignore (hatchling then leaves them out), or to "
                "[tool.hatch.build.targets.sdist] exclude = [...]; never rename a key to hide it",
            )
        self.app.display_debug(f"{_PREFIX}sdist: no key material in {len(included)} file(s)", level=1)

    def _finalize(self, artifact_path: str) -> None:
        config = self._load()
        if config is None or not artifact_path or not os.path.isfile(artifact_path):
            return
        from hatch_meadow.artifacts import ensure_artifact_clean

        try:
            paths = self._credential_paths(config)
        except MeadowError:
            paths = []  # no project layout here: still refuse keys and pass files found by name
        ensure_artifact_clean(Path(artifact_path), paths, self._secrets(config))

    def _clean(self) -> None:
        config = self._load()
        if config is None or not config.patch_csproj:
            return
        from hatch_meadow.csproj import clean_csproj
        from hatch_meadow.project import resolve_layout

        layout = resolve_layout(Path(self.root), config, self._where)
        result = clean_csproj(layout.csproj)
        if result.changed:
            self.app.display_info(f"{_PREFIX}removed the hatch-meadow ItemGroup from {layout.csproj.name}")
