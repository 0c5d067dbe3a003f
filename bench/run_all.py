"""Run every benchmark and write ``bench/results.md`` (``make bench``).

Each benchmark prints its headline as its last line,
``<name>: <value> <unit> (ratio <r> vs <reference>)``, with the reference
measured in the same run on the same machine. This script keeps each
benchmark's full output and collects the headlines with the machine details.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "ingest.py",
    "ingest_growth.py",
    "activity.py",
    "footprint.py",
    "gateway.py",
    "audit.py",
    "audit_db.py",
]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    sections = []
    headlines = []
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        run = subprocess.run(
            [sys.executable, str(HERE / name)],
            capture_output=True,
            text=True,
            check=False,
            cwd=HERE.parent,
        )
        output = (run.stdout + run.stderr).strip()
        print(output, flush=True)
        last = output.splitlines()[-1] if output else "(no output)"
        headlines.append(last if run.returncode == 0 else f"{name}: FAILED ({last})")
        sections.append(f"## {name}\n\n```\n{output}\n```\n")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            f"Measured {stamp} on {_cpu_model()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}.",
            "",
            "## Headlines",
            "",
            *(f"- `{line}`" for line in headlines),
            "",
            *sections,
        ]
    )
    (HERE / "results.md").write_text(text)
    print(f"wrote {HERE / 'results.md'}")


if __name__ == "__main__":
    main()
