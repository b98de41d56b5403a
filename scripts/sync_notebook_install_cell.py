"""Write notebooks/_install_cell.py into the first code cell of every notebook.

The install cell is kept once, in ``notebooks/_install_cell.py``; this copies it into
``notebooks/book*/*.ipynb`` (tests/test_notebooks.py fails while a notebook's copy differs).

    python scripts/sync_notebook_install_cell.py            # this checkout's notebooks
    python scripts/sync_notebook_install_cell.py ROOT       # the notebooks under ROOT/notebooks
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

CELL = Path(__file__).resolve().parent.parent / "notebooks" / "_install_cell.py"


def cell_source() -> list[str]:
    """The install cell as a notebook stores it: lines with their newlines, the last without."""
    return CELL.read_text(encoding="utf-8").rstrip("\n").splitlines(keepends=True)


def sync(notebook: Path, source: list[str]) -> bool:
    """Give ``notebook`` this first code cell; True when the file changed."""
    text = notebook.read_text(encoding="utf-8")
    nb = json.loads(text)
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    if not code:
        raise ValueError(f"{notebook}: no code cell to hold the install cell")
    if code[0]["source"] == source:
        return False
    code[0]["source"] = source
    # nbformat's own layout, so a synced notebook diffs only in that cell.
    new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=notebook.parent, prefix=f".{notebook.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(new)
        os.replace(tmp, notebook)
    except BaseException:
        os.unlink(tmp)
        raise
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else CELL.parent.parent
    notebooks = sorted((root / "notebooks").glob("book*/*.ipynb"))
    if not notebooks:
        print(f"no notebooks under {root / 'notebooks'}/book*/", file=sys.stderr)
        return 1
    source = cell_source()
    for notebook in notebooks:
        if sync(notebook, source):
            print(f"updated {notebook}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
