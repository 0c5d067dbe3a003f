"""The README's five-minute tour, run as written: its ``sh`` blocks, in order, in one
bash session from the repository's root, against the ledger the tour itself starts
(``carbonledger serve &``) and stops (``kill %1``).

The tour listens on the default addresses (127.0.0.1:50051 and :8080), so it runs in
a network namespace of its own (``unshare``), where nothing else can hold them or
answer in its place. The tour's ``cd "$(mktemp -d)"`` lands in this test's temporary
directory (TMPDIR). A change to a command, an option, an output or an example entry
that the tour relies on fails here, so the README cannot drift from the code.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOUR_HEADING = "## A five-minute tour"
LI2CO3_FOOTPRINT = "9cce45fa-d76a-4099-8490-87cb50b98192"  # docs/examples/li2co3-batch.json
BLACK_MASS_FOOTPRINT = "7d89a066-aae4-480e-b55a-b9354628b0ce"  # docs/examples/black-mass.json


def tour_blocks(readme: str) -> list[str]:
    """The ``sh`` blocks under the tour's heading, up to the next ``##`` heading."""
    start = readme.index(TOUR_HEADING) + len(TOUR_HEADING)
    end = readme.find("\n## ", start)
    section = readme[start : end if end != -1 else len(readme)]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def _namespace_wrapper() -> list[str]:
    """A command prefix that runs bash in a new network namespace with loopback up."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("the tour test needs unshare and ip (util-linux, iproute2)")
    probe = subprocess.run(
        ["unshare", "-rn", "ip", "link", "set", "lo", "up"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if probe.returncode != 0:
        pytest.skip(f"no network namespace for the tour here: {probe.stderr.strip()}")
    return ["unshare", "-rn", "bash", "-c", 'ip link set lo up && exec bash -euo pipefail "$0"']


def _json_lines(stdout: str) -> list[dict[str, object]]:
    found = []
    for line in stdout.splitlines():
        if line.startswith("{"):
            value = json.loads(line)
            assert isinstance(value, dict)
            found.append(value)
    return found


def test_the_readme_blocks_are_the_tour_and_need_no_jq() -> None:
    blocks = tour_blocks((ROOT / "README.md").read_text())
    script = "\n".join(blocks)
    assert len(blocks) >= 4
    assert "carbonledger serve" in script and script.rstrip().endswith("# stops serve")
    assert not re.search(r"\bjq\b", script)
    for name in re.findall(r"\$EXAMPLES/([\w.-]+)", script):
        assert (ROOT / "docs" / "examples" / name).is_file(), name


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    wrapper = _namespace_wrapper()
    script = tmp_path / "tour.sh"
    script.write_text("\n".join(tour_blocks((ROOT / "README.md").read_text())))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARBONLEDGER_")}
    env["TMPDIR"] = str(tmp_path)
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [*wrapper, str(script)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            returncode = proc.wait(timeout=240)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # whatever the tour left running
            proc.wait(timeout=30)
    printed, said = out.read_text(), err.read_text()
    assert returncode == 0, f"the tour failed:\n{printed[-3000:]}\n{said[-3000:]}"

    # The buyer's PACT listing holds exactly the footprint granted to it.
    [listing] = [line for line in _json_lines(printed) if "data" in line]
    assert [footprint["id"] for footprint in listing["data"]] == [LI2CO3_FOOTPRINT]  # type: ignore[attr-defined]
    # The computed footprint shows the ungranted black mass only as undisclosed.
    [computed] = [line for line in _json_lines(printed) if "byStage" in line]
    assert computed["footprintId"] == LI2CO3_FOOTPRINT
    assert float(computed["byStage"]["undisclosed"]) > 0  # type: ignore[index]
    assert BLACK_MASS_FOOTPRINT not in json.dumps(computed)
    assert re.search(
        r"^OK: seq \d+ \(footprint by urn:pact:company:customcode:recycler\)", printed, re.M
    )
    assert "OK: every check holds" in printed
    assert re.search(r"^cosigned size \d+", printed, re.M)
    assert re.search(r"^— witness ", printed, re.M)  # the checkpoint carries the cosignature
    for org in ("dismantler", "recycler", "buyer", "auditor"):
        assert f"urn:pact:company:customcode:{org} " in printed
    assert "Traceback" not in said
