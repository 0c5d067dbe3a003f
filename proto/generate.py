"""Generate the Python protobuf/gRPC modules for ledger/_pb from proto/.

The virtual include mapping ``-Iledger/_pb=proto`` makes the generated
modules import each other as ``ledger._pb.carbonledger.v1...``, so they live
inside the ``ledger`` package without any post-processing of their imports.

Usage: python proto/generate.py OUTPUT_ROOT   (the repository root for `make proto`)
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
PROTO_FILES = sorted(p.relative_to(PROTO_ROOT) for p in PROTO_ROOT.rglob("*.proto"))


def generate(output_root: Path) -> None:
    grpc_include = Path(protoc.__file__).parent / "_proto"
    for rel in PROTO_FILES:
        virtual = f"ledger/_pb/{rel.as_posix()}"
        args = [
            "protoc",
            f"-I{grpc_include}",
            f"-Iledger/_pb={PROTO_ROOT}",
            f"--python_out={output_root}",
            f"--pyi_out={output_root}",
            f"--grpc_python_out={output_root}",
            virtual,
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed for {rel}")
    package = output_root / "ledger" / "_pb"
    for directory in [package, *(p for p in package.rglob("*") if p.is_dir())]:
        if directory.name != "__pycache__":
            (directory / "__init__.py").touch()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    generate(Path(sys.argv[1]))
