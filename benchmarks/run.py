"""Run every benchmark in turn (`make bench`); each prints its own ratios against its baseline."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ["benchmarks.pk_bench", "benchmarks.tdm_bench", "benchmarks.population_bench",
              "benchmarks.service_bench", "benchmarks.cds_bench"]


def main() -> int:
    failed = 0
    for module in BENCHMARKS:
        print(f"\n=== {module} ===", flush=True)
        failed += subprocess.call([sys.executable, "-m", module]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
