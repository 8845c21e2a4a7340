"""Patch a generated 5,000-item csproj, then re-run with nothing to change; print milliseconds.

Targets (issue: Foundation): first patch < 100 ms, no-change re-run < 20 ms. Each figure is the median
of several runs on a fresh copy, measured around `ensure_csproj` (read, plan, write) in this process.
The baseline printed beside it is a plain lxml parse of the same bytes, for scale.

    python benchmarks/csproj_patch.py [--items N] [--runs R]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from lxml import etree

from hatch_meadow.csproj import ensure_csproj


def make_csproj(items: int) -> str:
    lines = ['<Project Sdk="Meadow.Sdk/1.1.0">', "  <PropertyGroup>",
             "    <TargetFramework>netstandard2.1</TargetFramework>", "  </PropertyGroup>", "  <ItemGroup>"]
    for i in range(items):
        kind = ("Compile", "None", "Content", "EmbeddedResource")[i % 4]
        if kind == "None":
            lines += [f'    <None Update="assets/file{i}.bin">',
                      "      <CopyToOutputDirectory>PreserveNewest</CopyToOutputDirectory>", "    </None>"]
        else:
            lines.append(f'    <{kind} Include="src/File{i}.cs" />')
    lines += ["  </ItemGroup>", "</Project>", ""]
    return "\n".join(lines)


def timed_ms(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    text = make_csproj(args.items)
    data = text.encode()
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.csproj"
        template.write_bytes(data)
        first, rerun, parse = [], [], []
        for run in range(args.runs):
            path = Path(tmp) / f"run{run}" / "App.csproj"
            path.parent.mkdir()
            shutil.copy(template, path)
            first.append(timed_ms(lambda p=path: ensure_csproj(p)))
            rerun.append(timed_ms(lambda p=path: ensure_csproj(p)))
            parse.append(timed_ms(lambda: etree.fromstring(data)))
        assert not ensure_csproj(path).changed
    print(f"csproj: {args.items} items, {len(data) / 1024:.0f} KiB, median of {args.runs} runs")
    print(f"  lxml parse only (baseline): {statistics.median(parse):7.2f} ms")
    print(f"  first patch (writes):       {statistics.median(first):7.2f} ms   target < 100 ms")
    print(f"  no-change re-run:           {statistics.median(rerun):7.2f} ms   target < 20 ms")
    print(f"  ratio re-run / lxml parse:  {statistics.median(rerun) / statistics.median(parse):7.2f}")


if __name__ == "__main__":
    main()
