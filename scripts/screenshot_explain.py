"""Take the README's screenshots of `mitbadak explain --html` in headless Chromium.

    .venv/bin/python scripts/screenshot_explain.py [MODEL.npz]

Writes docs/explain-apple.png (the apple example, two backward steps in) and, given a
model trained by `mitbadak train`, docs/explain-model.png (test image 3, all steps).
Uses the tests' browser helper (tests/browser.py), so it needs the same packages.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import chromium, console_errors, open_page  # noqa: E402
from mitbadak.explain import apple_trace, trace_network  # noqa: E402
from mitbadak.explain.page import render_html  # noqa: E402


def shoot(html: str, out: Path, steps: int, width: int = 1100) -> None:
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "page.html"
        page.write_text(html, encoding="utf-8")
        with chromium(width, 900) as driver:
            open_page(driver, page.as_uri())
            for _ in range(steps):
                driver.find_element("css selector", "#trace-0 [data-action=step]").click()
            errors = console_errors(driver)
            if errors:
                raise SystemExit(f"the page reported errors: {errors}")
            section = driver.find_element("css selector", "#trace-0")
            driver.set_window_size(width, section.size["height"] + 300)
            section.screenshot(str(out))
    print(f"wrote {out}")


def main() -> None:
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    shoot(render_html(apple_trace()), docs / "explain-apple.png", steps=2)
    if len(sys.argv) > 1:
        import numpy as np

        from mitbadak import load
        from mitbadak.data import load_mnist

        net = load(sys.argv[1])
        (_, _), (x_test, t_test) = load_mnist(dataset=net.metadata.get("dataset", "mnist-sample"))
        trace = trace_network(
            net, x_test[3:4], np.array([t_test[3]]), whole_limit=1000, numerical_limit=1000
        )
        shoot(render_html(trace), docs / "explain-model.png", steps=4, width=1280)


if __name__ == "__main__":
    main()
