"""Regenerate the golden files: `python -m tests.golden.regen` (from the worktree root).

Writes tests/golden/cases/<name>.yaml for the generated cases and, for those and every
examples/*.yaml case, tests/golden/expected/<name>.assess.json and <name>.tdm.json: the
stdout (or the exit code and error lines) of `cyclodose assess --json` and `tdm --json`.
Run it only when an output change is intended, and list every changed file with its reason.
"""

from __future__ import annotations

import sys

import yaml
from tests.golden.cases import cases
from tests.golden.outputs import CASES_DIR, EXPECTED_DIR, golden_inputs, run_outputs


def main() -> int:
    CASES_DIR.mkdir(parents=True, exist_ok=True)
    EXPECTED_DIR.mkdir(parents=True, exist_ok=True)
    for name, doc in cases().items():
        (CASES_DIR / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    changed = 0
    for name, path in golden_inputs():
        for kind, text in run_outputs(path).items():
            out = EXPECTED_DIR / f"{name}.{kind}.json"
            if not out.exists() or out.read_text() != text:
                changed += 1
                print(f"changed: {out.name}")
                out.write_text(text)
    print(f"{changed} golden file(s) written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
