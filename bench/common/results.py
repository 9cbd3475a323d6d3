"""How every benchmark leaves its result: STEM.json (the data, read back by tests, other
benchmarks and tools/update_readme.py) and STEM.md (the table the docs include), side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_report(out_dir: Path, stem: str, report: dict[str, Any], markdown: str) -> None:
    """Write out_dir/STEM.json and out_dir/STEM.md (ending in exactly one newline)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / f"{stem}.md").write_text(markdown.rstrip("\n") + "\n")
