"""A pharmacometric dataset as CSV text (comma-separated, one header line)."""

from __future__ import annotations

import csv
import io

from cyclodose.workflows.dataset import Dataset


def to_csv(ds: Dataset) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ds.columns)
    writer.writerows(ds.rows)
    return buf.getvalue()
