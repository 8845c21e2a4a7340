"""Build hatch_meadow/explain/mbedtls_errors.json from Mbed TLS's public headers (facts, not code).

    python scripts/gen_mbedtls_errors.py REPO [--out FILE]

REPO is a git clone of https://github.com/Mbed-TLS/mbedtls with its tags. For each release in RELEASES the
script reads every ``include/mbedtls/*.h`` at that tag, takes each ``#define MBEDTLS_ERR_<NAME> -0x<HEX>`` and
its Doxygen description (the text ``mbedtls_strerror`` prints after ``MODULE - ``), and the low-/high-level
module lists of that release's ``scripts/generate_errors.pl``. The output lists every code once, with the
releases that define it and, per release, its description.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

RELEASES = ("2.28.3", "2.28.8", "3.5.2", "3.6.6")  # 2.28.3: Debian's system library
DEFINE = re.compile(
    r"(?:/\*[*!](?!<)((?:[^*]|\*+[^*/])*)\*/)?"   # a Doxygen comment before the define
    r"\s*#\s*define\s+(MBEDTLS_ERR_\w+)\s+-(0[Xx][0-9A-Fa-f]+)\s*"
    r"(?:/\*[*!]<((?:[^*]|\*+[^*/])*)\*/)?",      # or one after it
    re.S)
MODULE_FIXES = {"MPI": "BIGNUM", "CTR": "CTR_DRBG", "HMAC": "HMAC_DRBG"}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def _modules(repo: Path, tag: str) -> tuple[set[str], set[str]]:
    script = _git(repo, "show", f"{tag}:scripts/generate_errors.pl")
    low = re.search(r"@low_level_modules\s*=\s*qw\(([^)]*)\)", script)
    high = re.search(r"@high_level_modules\s*=\s*qw\(([^)]*)\)", script)
    if low is None or high is None:
        raise SystemExit(f"{tag}: no module lists in scripts/generate_errors.pl")
    return set(low.group(1).split()), set(high.group(1).split())


def _description(before: str | None, after: str | None) -> str:
    if before is not None and re.search(r"\s*\\name\s", before):
        before = None
    text = before if before is not None else after
    assert text is not None
    text = text.lstrip()
    text = re.sub(r"\n( *\*)? *", " ", text)
    return re.sub(r"\.?\s+$", "", text)


def read_release(repo: Path, version: str) -> dict[int, dict[str, str]]:
    tag = f"v{version}"
    low, high = _modules(repo, tag)
    headers = [p for p in _git(repo, "ls-tree", "--name-only", f"{tag}:include/mbedtls").split()
               if p.endswith(".h")]
    found: dict[int, dict[str, str]] = {}
    for header in headers:
        content = _git(repo, "show", f"{tag}:include/mbedtls/{header}").replace("\r\n", "\n")
        for match in DEFINE.finditer(content):
            before, name, value, after = match.groups()
            if before is None and after is None:
                continue
            short = name.removeprefix("MBEDTLS_ERR_")
            module = short.split("_", 1)[0]
            module = MODULE_FIXES.get(module, module)
            level = "low" if module in low else "high" if module in high else "unknown"
            code = -int(value, 16)
            found[code] = {"name": short, "module": module, "level": level,
                           "description": _description(before, after)}
    return found


def build(repo: Path) -> dict[str, Any]:
    """Every code, with its definitions: one per distinct (name, module, level, description), naming the
    releases that define it so (a value can mean different things in 2.28 and 3.x)."""
    codes: dict[int, list[dict[str, Any]]] = {}
    for version in RELEASES:
        for code, fact in read_release(repo, version).items():
            definitions = codes.setdefault(code, [])
            same = next((d for d in definitions if all(d[k] == fact[k] for k in fact)), None)
            if same is None:
                definitions.append({**fact, "releases": [version]})
            else:
                same["releases"].append(version)
    return {
        "source": "include/mbedtls/*.h and scripts/generate_errors.pl of https://github.com/Mbed-TLS/mbedtls",
        "releases": list(RELEASES),
        "codes": {f"-0x{-code:04X}": codes[code] for code in sorted(codes, reverse=True)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent.parent / "hatch_meadow" / "explain" /
                        "mbedtls_errors.json")
    args = parser.parse_args()
    data = build(args.repo)
    text = json.dumps(data, indent=None, separators=(",", ":"))
    text = text.replace('],"-0x', '],\n"-0x')  # one code per line: reviewable diffs
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(data['codes'])} codes from {', '.join(data['releases'])}")


if __name__ == "__main__":
    main()
