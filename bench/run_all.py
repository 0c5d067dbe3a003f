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
#: PostgreSQL for the benchmarks whose targets name it (the Makefile exports it).
POSTGRES_URL = os.environ.get("CARBONLEDGER_BENCH_POSTGRES_URL")
#: (title, script and arguments) of each benchmark, in order
BENCHMARKS: list[tuple[str, list[str]]] = [
    ("ingest.py", ["ingest.py"]),
    ("ingest_growth.py", ["ingest_growth.py"]),
    *(
        [("ingest_growth.py on PostgreSQL", ["ingest_growth.py", "--db", POSTGRES_URL])]
        if POSTGRES_URL
        else []
    ),
    ("activity.py", ["activity.py"]),
    ("footprint.py", ["footprint.py"]),
    ("cold_start.py", ["cold_start.py"]),
    ("gateway.py", ["gateway.py"]),
    ("audit.py", ["audit.py"]),
    ("audit_db.py", ["audit_db.py"]),
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
    for name, (script, *args) in BENCHMARKS:
        print(f"== {name}", flush=True)
        run = subprocess.run(
            [sys.executable, str(HERE / script), *args],
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
