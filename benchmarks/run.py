"""Runs every benchmark in this folder, one after another, each in its own process and with its
own database (each script names its default DATABASE_URL). Figures go to docs/performance.md
by hand, with the machine they ran on.

    make benchmarks          # all of them
    python benchmarks/run.py grids_escalation   # one
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["grids_escalation", "grids_report", "grids_list", "points_redeem"]


def main(names: list[str]) -> int:
    failed = 0
    unknown = set(names) - set(SCRIPTS)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {', '.join(SCRIPTS)}")
        return 2
    for name in names or SCRIPTS:
        print(f"\n=== {name} ===", flush=True)
        # only the fixed script names above reach this call
        result = subprocess.run([sys.executable, str(HERE / f"{name}.py")], cwd=HERE.parent, check=False)  # noqa: S603
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
