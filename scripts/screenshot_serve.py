"""Take the README's screenshot of `mitbadak serve`'s page in headless Chromium.

    .venv/bin/mitbadak train --dataset mnist-sample     # runs/001, if there is none yet
    .venv/bin/python scripts/screenshot_serve.py [RUNS_DIR] [DIGIT]

Serves RUNS_DIR (default: runs), draws the first test digit of class DIGIT (default: 2)
with the pointer as the page tests do (its strokes traced by tests/strokes.py), steps the
backward pass twice, and writes docs/serve.png: the drawing, what the network sees, the
prediction, the gradient, the hidden layer and the graph. Uses the tests' browser helper.
"""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from browser import chromium, console_errors, network_requests, open_page  # noqa: E402
from mitbadak.data import load_mnist  # noqa: E402
from mitbadak.web import ModelCatalog, make_server  # noqa: E402
from strokes import digit_strokes  # noqa: E402
from test_serve_page import draw, settled, wait_for  # noqa: E402


def main() -> None:
    runs = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs")
    digit = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    catalog = ModelCatalog(runs)
    if catalog.default_id() is None:
        raise SystemExit(f"no run under {runs}: train one with mitbadak train first")
    _, (x, t) = load_mnist(flatten=False, dataset="mnist-sample")
    image = x[int(np.flatnonzero(t == digit)[0]), 0]
    server = make_server(catalog, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = ROOT / "docs" / "serve.png"
    try:
        with chromium(1280, 1600) as driver:
            open_page(driver, server.url)
            wait_for(driver, "return document.querySelectorAll('#model option').length > 0")
            draw(driver, digit_strokes(image, 280))
            settled(driver)
            for _ in range(2):
                driver.find_element("css selector", "#trace [data-action=step]").click()
            errors = console_errors(driver)
            outside = [u for u in network_requests(driver, server.url) if server.url not in u]
            if errors or outside:
                raise SystemExit(f"the page reported errors {errors} or requests {outside}")
            # Down to the graph's legend: the step panel and tables below are left out.
            bottom = driver.execute_script(
                "var r = document.querySelector('#trace .legend').getBoundingClientRect();"
                "return Math.ceil(r.bottom + window.scrollY + 6);"
            )
            png = driver.get_screenshot_as_png()
    finally:
        server.shutdown()
        server.server_close()
    with Image.open(io.BytesIO(png)) as shot:
        shot.crop((0, 0, shot.width, min(bottom, shot.height))).save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
