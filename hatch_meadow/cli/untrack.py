"""``hatch-meadow untrack``: the private key and the pass file out of git (they stay on disk)."""

from __future__ import annotations

from pathlib import Path

import click

from hatch_meadow.cli.options import dir_option, project_option


@click.command("untrack", short_help="Stop git tracking the private key and pass file, and ignore them.")
@dir_option("Folder of the files (default: the project's credentials-dir, else the current folder).")
@project_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def untrack(directory: Path | None, project: Path, as_json: bool) -> int:
    """`git rm --cached` for private_key.pem and private_key_pass.txt when git tracks them, and a .gitignore
    entry for each at the repository's top. The files stay on disk; commit the change. A key that was ever
    pushed should be treated as known to others: `hatch-meadow generate --force` makes a new one.
    """
    from hatch_meadow.cli.console import emit_json, out_console
    from hatch_meadow.gitcheck import untrack as untrack_files
    from hatch_meadow.settings import resolve_settings

    folder = resolve_settings(project).credentials_dir(directory)
    result = untrack_files(folder)
    if as_json:
        emit_json({"ok": True, "repository": str(result.top), "untracked": result.untracked,
                   "ignored": result.ignored})
        return 0
    console = out_console()
    for rel in result.untracked:
        console.print(f"git no longer tracks {rel} (the file is still on disk)", markup=False)
    for rel in result.ignored:
        console.print(f"ignored {rel} in {result.top / '.gitignore'}", markup=False)
    if not result.untracked and not result.ignored:
        console.print("nothing to do: git neither tracks nor would add the key or the pass file", markup=False)
    else:
        console.print("commit the change (git commit -m 'Stop tracking device secrets'); if the key was ever "
                      "pushed, generate a new one: hatch-meadow generate --force", markup=False)
    return 0
