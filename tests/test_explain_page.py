"""The explain page in a real browser: numbers where they belong, stepping, nothing fetched.

Headless Chromium (Debian's chromium and chromium-driver) opens the self-contained page
written by :func:`mitbadak.explain.page.render_html`; see ``browser.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from browser import console_errors, network_requests, open_page
from mitbadak.explain import default_traces, trace_network
from mitbadak.explain.page import render_html
from mitbadak.models import TwoLayerNet


@pytest.fixture(scope="module")
def driver(browser: Any) -> Any:
    """The session's browser (conftest), shared with the other page tests."""
    return browser


@pytest.fixture(scope="module")
def examples_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = tmp_path_factory.mktemp("page") / "explain.html"
    page.write_text(render_html(default_traces()), encoding="utf-8")
    return page


def texts(driver: Any, css: str) -> list[str]:
    return [e.get_attribute("textContent") for e in driver.find_elements("css selector", css)]


def label(driver: Any, trace: int, kind: str, value: str, to: str) -> str:
    css = f'#trace-{trace} text.{kind.replace(" ", ".")}[data-value="{value}"][data-to="{to}"]'
    (text,) = texts(driver, css)
    return text


def click(driver: Any, trace: int, action: str) -> None:
    driver.find_element("css selector", f"#trace-{trace} [data-action={action}]").click()


def current_node(driver: Any, trace: int) -> list[str]:
    nodes = driver.find_elements("css selector", f"#trace-{trace} g.node.current")
    return [n.get_attribute("data-node") for n in nodes]


# The apple example: (value, the node it enters, forward text, backward text).
APPLE_EDGES = [
    ("apple", "mul_apple", "100", "2.2"),
    ("apple_num", "mul_apple", "2", "110"),
    ("orange", "mul_orange", "150", "3.3"),
    ("orange_num", "mul_orange", "3", "165"),
    ("apple_price", "add_apple_orange", "200", "1.1"),
    ("orange_price", "add_apple_orange", "450", "1.1"),
    ("all_price", "mul_tax", "650", "1.1"),
    ("tax", "mul_tax", "1.1", "650"),
]


def test_the_page_loads_without_errors_or_requests(driver: Any, examples_page: Path) -> None:
    url = examples_page.as_uri()
    open_page(driver, url)
    assert console_errors(driver) == []
    assert driver.find_element("css selector", "h1").text == "mitbadak explain"
    assert len(driver.find_elements("css selector", "section.trace")) == 3
    assert network_requests(driver, url) == []
    resources = driver.execute_script("return performance.getEntriesByType('resource').length")
    assert resources == 0


def test_the_request_check_does_see_requests(driver: Any, tmp_path: Path) -> None:
    # The check above is only worth something if a page that fetches is caught.
    page = tmp_path / "fetches.html"
    page.write_text('<img src="http://127.0.0.1:9/missing.png">', encoding="utf-8")
    open_page(driver, page.as_uri())
    assert network_requests(driver, page.as_uri()) == ["http://127.0.0.1:9/missing.png"]


def test_the_apple_numbers_are_where_they_belong(driver: Any, examples_page: Path) -> None:
    open_page(driver, examples_page.as_uri())
    for value, node, forward, _ in APPLE_EDGES:
        assert label(driver, 0, "fwd", value, node) == forward, value
        assert label(driver, 0, "bwd", value, node) == "", value  # nothing before stepping
    assert label(driver, 0, "fwd", "price", "") == "715"
    assert label(driver, 0, "bwd seed", "price", "") == "1"
    leaves = texts(driver, "#trace-0 text.leaf")
    assert leaves == ["apple", "apple_num", "orange", "orange_num", "tax", "price"]
    click(driver, 0, "all")
    for value, node, _, backward in APPLE_EDGES:
        assert label(driver, 0, "bwd", value, node) == backward, value
    rows = {
        r.get_attribute("data-value"): [c.text for c in r.find_elements("css selector", "td")]
        for r in driver.find_elements("css selector", "#trace-0 table.checks tr[data-value]")
    }
    assert rows["tax"][2:4] == ["650", "650"] and rows["apple"][2:4] == ["2.2", "2.2"]


def test_stepping_moves_through_the_backward_order(driver: Any, examples_page: Path) -> None:
    open_page(driver, examples_page.as_uri())
    assert current_node(driver, 0) == []
    order = ["mul_tax", "add_apple_orange", "mul_orange", "mul_apple"]
    revealed = {
        "mul_tax": [("all_price", "mul_tax", "1.1"), ("tax", "mul_tax", "650")],
        "add_apple_orange": [("apple_price", "add_apple_orange", "1.1")],
        "mul_orange": [("orange", "mul_orange", "3.3"), ("orange_num", "mul_orange", "165")],
        "mul_apple": [("apple", "mul_apple", "2.2"), ("apple_num", "mul_apple", "110")],
    }
    for k, node in enumerate(order, start=1):
        click(driver, 0, "step")
        assert current_node(driver, 0) == [node]
        section = driver.find_element("css selector", "#trace-0")
        assert section.get_attribute("data-step") == str(k)
        assert f"backward step {k} of 4: {node}" in section.text
        panel = driver.find_element("css selector", "#trace-0 .step-panel").text
        assert panel.startswith(f"Step {k} of 4: {node}")
        for value, to, text in revealed[node]:
            assert label(driver, 0, "bwd", value, to) == text
        # What comes later in the backward order is not shown yet.
        for later in order[k:]:
            for value, to, _ in revealed[later]:
                assert label(driver, 0, "bwd", value, to) == ""
    assert driver.find_element("css selector", "#trace-0 [data-action=step]").get_attribute(
        "disabled"
    )
    click(driver, 0, "back")
    assert current_node(driver, 0) == ["mul_orange"]
    assert label(driver, 0, "bwd", "apple", "mul_apple") == ""
    click(driver, 0, "reset")
    assert current_node(driver, 0) == [] and label(driver, 0, "bwd", "tax", "mul_tax") == ""


def test_a_value_used_twice_shows_its_gradients_adding_up(driver: Any, examples_page: Path) -> None:
    open_page(driver, examples_page.as_uri())
    total = "#trace-1 text.bwd-total[data-value=tax]"
    click(driver, 1, "step")  # add_totals
    click(driver, 1, "step")  # mul_orange_tax sends 450
    assert label(driver, 1, "bwd share", "tax", "mul_orange_tax") == "450"
    assert label(driver, 1, "bwd share", "tax", "mul_apple_tax") == ""
    assert texts(driver, total) == ["450"]
    click(driver, 1, "step")  # mul_apple_tax sends 200
    assert label(driver, 1, "bwd share", "tax", "mul_apple_tax") == "200"
    assert texts(driver, total) == ["450 + 200 = 650"]


def test_clicking_a_value_shows_the_whole_array(driver: Any, examples_page: Path) -> None:
    open_page(driver, examples_page.as_uri())
    driver.find_element(
        "css selector", '#trace-2 text.fwd[data-value="W1"][data-to="Affine1"]'
    ).click()
    detail = driver.find_element("css selector", "#trace-2 .detail")
    assert detail.is_displayed()
    assert detail.find_element("css selector", "h3").text == "W1 (param)"
    cells = detail.find_elements("css selector", "table.array.fwd td")
    assert len(cells) == 12  # W1 is 3x4, all of it
    assert "not computed yet: backward reaches it at step 4" in detail.text
    click(driver, 2, "all")
    detail = driver.find_element("css selector", "#trace-2 .detail")
    assert len(detail.find_elements("css selector", "table.array.bwd td")) == 12
    assert len(detail.find_elements("css selector", "table.array.num td")) == 12


def test_a_model_page_draws_its_pictures(driver: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    net = TwoLayerNet(784, 12, 10, weight_init_std=0.1, rng=rng)
    trace = trace_network(
        net, rng.random((1, 784)), np.array([2]), whole_limit=1000, numerical_limit=30
    )
    page = tmp_path / "model.html"
    page.write_text(render_html(trace), encoding="utf-8")
    open_page(driver, page.as_uri())
    assert console_errors(driver) == []
    canvases = driver.find_elements("css selector", ".pictures canvas")
    assert len(canvases) == 4
    # The input picture is dark ink where x is large: compare the canvas with x itself.
    x = trace.value("x").value.array().reshape(28, 28)
    ink = driver.execute_script(
        "var c = arguments[0].getContext('2d').getImageData(0, 0, 28, 28).data;"
        "var out = []; for (var i = 0; i < c.length; i += 4) out.push(c[i]); return out;",
        canvases[0],
    )
    expected = np.round(255 * (1 - x / x.max())).reshape(-1)
    np.testing.assert_allclose(ink, expected, atol=1)
    # A large array keeps its summary until asked for the rest.
    click(driver, 0, "all")
    panel = driver.find_element("css selector", "#trace-0 .step-panel")
    more = panel.find_elements("css selector", "button.more")
    assert more and more[0].text == "show all 784 entries"
    more[0].click()
    assert len(panel.find_elements("css selector", ".scroll table td")) == 784


def test_a_screenshot_of_the_page(driver: Any, examples_page: Path, tmp_path: Path) -> None:
    open_page(driver, examples_page.as_uri())
    click(driver, 0, "step")
    click(driver, 0, "step")
    shot = tmp_path / "apple.png"
    assert driver.find_element("css selector", "#trace-0").screenshot(str(shot))
    from PIL import Image

    with Image.open(shot) as img:
        width, height = img.size
        colours: list[tuple[int, tuple[int, int, int]]] | None
        colours = img.convert("RGB").getcolors(maxcolors=1 << 16)  # type: ignore[assignment]
    assert width > 800 and height > 400
    # Black forward labels and red gradient labels are both painted.
    assert colours is not None
    rgb = [colour for _, colour in colours]
    assert any(r > 150 and g < 80 and b < 80 for r, g, b in rgb)
    assert any(r < 40 and g < 40 and b < 40 for r, g, b in rgb)
