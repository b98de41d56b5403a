"""The drawing page of `mitbadak serve` in headless Chromium, drawn on as a hand would.

The first test digit of each class in the bundled sample is traced into pen strokes
(``strokes.py``), replayed on the page's canvas as pointer drags (mouse, and once a
finger), and the page's top class must be right for at least 9 of the 10. The page must
show the 28x28 input, the hidden layer, the gradient's heat map and explain's graph, and
ask nothing of any machine but the server. See ``browser.py`` for the browser.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from selenium.webdriver.common.actions import interaction
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput

from browser import console_errors, network_requests, open_page
from digit_rendering import render
from mitbadak.data import load_mnist
from strokes import digit_strokes

#: What the page's answer may take, at most, on a loaded machine.
WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """The first test digit of each class, 0 to 9: (10, 28, 28) floats and their labels."""
    _, (x, t) = load_mnist(flatten=False, dataset="mnist-sample")
    first = [int(np.flatnonzero(t == k)[0]) for k in range(10)]
    return x[first, 0], t[first]


@pytest.fixture(scope="module")
def page(browser: Any, page_server: Any) -> Any:
    open_page(browser, page_server.url)
    wait_for(browser, "return document.querySelectorAll('#model option').length > 0")
    return browser


def wait_for(driver: Any, script: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"the page never satisfied: {script}")


def settled(driver: Any) -> None:
    """Wait until the answer to the latest drawing is on the page."""
    wait_for(
        driver,
        "var b = document.body; return b.dataset.state === 'idle' && "
        "b.dataset.drawn === b.dataset.shown && b.dataset.drawn !== '0';",
    )


def draw(driver: Any, strokes: list[list[tuple[float, float]]], kind: str = "mouse") -> None:
    """Replay ``strokes`` (canvas pixels) as pointer drags on the pad, in one action list."""
    pad = driver.find_element("id", "pad")
    # Pointer offsets count from the centre of the element's border box.
    cx, cy, left, top = driver.execute_script(
        "var p = arguments[0], r = p.getBoundingClientRect();"
        "return [r.width / 2, r.height / 2, p.clientLeft, p.clientTop];",
        pad,
    )
    kinds = {"mouse": interaction.POINTER_MOUSE, "touch": interaction.POINTER_TOUCH}
    builder = ActionBuilder(driver, mouse=PointerInput(kinds[kind], kind), duration=0)
    pointer = builder.pointer_action
    for stroke in strokes:
        for k, (x, y) in enumerate(stroke):
            pointer.move_to(pad, round(x + left - cx), round(y + top - cy))
            if k == 0:
                pointer.pointer_down()
        pointer.pointer_up()
    builder.perform()


def clear(driver: Any) -> None:
    driver.find_element("id", "clear").click()
    wait_for(driver, "return document.querySelectorAll('#top3 li').length === 0")


def top_class(driver: Any) -> int:
    return int(driver.find_element("css selector", "#top3 li").get_attribute("data-class"))


def canvas_pixels(driver: Any, css: str) -> np.ndarray:
    """A canvas's pixels as (H, W, 3) uint8."""
    data, w, h = driver.execute_script(
        "var c = document.querySelector(arguments[0]);"
        "return [Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data),"
        " c.width, c.height];",
        css,
    )
    return np.asarray(data, dtype=np.uint8).reshape(h, w, 4)[..., :3]


def test_drawn_digits_are_recognised(page: Any, digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    side = page.execute_script("return document.getElementById('pad').width")
    predicted = []
    for image in images:
        clear(page)
        draw(page, digit_strokes(image, side))
        settled(page)
        predicted.append(top_class(page))
        # What the network saw is shown, and looks like the digit that was traced.
        seen = canvas_pixels(page, "#input28")[..., 0] / 255.0
        assert np.corrcoef(seen.ravel(), image.ravel())[0, 1] > 0.5
    right = [int(k) for k, p in zip(labels, predicted, strict=True) if p == k]
    print(f"\ndrawn digits: predicted {predicted} for labels {labels.tolist()}; right: {right}")
    assert len(right) >= 9, f"predicted {predicted} for {labels.tolist()}"
    assert console_errors(page) == []


def test_the_heat_map_hidden_layer_and_graph_appear(
    page: Any, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = digits
    clear(page)
    strokes = digit_strokes(images[3], 280)
    draw(page, strokes)
    settled(page)
    heat = canvas_pixels(page, "#grad28").astype(int)
    r, g, b = heat[..., 0], heat[..., 1], heat[..., 2]
    assert np.count_nonzero((r - b > 60) & (r - g > 60)) > 5  # red: positive gradient
    assert np.count_nonzero((b - r > 60) & (b - g > 20)) > 5  # blue: negative
    predicted = top_class(page)
    assert page.find_element("id", "grad-class").text == f"{predicted} (predicted)"
    # The hidden layer: 50 ReLU units of the book's network.
    caption = page.find_element("css selector", "#hidden .caption").text
    assert caption.startswith("Relu1's output (Relu): 50 units, ")
    # Explain's graph of this very network, steppable.
    nodes = page.find_elements("css selector", "#trace section.trace svg g.node")
    assert [n.get_attribute("data-node") for n in nodes] == [
        "Affine1",
        "Relu1",
        "Affine2",
        "SoftmaxWithLoss",
    ]
    page.find_element("css selector", "#trace [data-action=step]").click()
    section = page.find_element("css selector", "#trace section.trace")
    assert section.get_attribute("data-step") == "1"
    assert "backward step 1 of 4: SoftmaxWithLoss" in section.text
    note = page.find_element("id", "numerical-note").text
    assert "central differences check only 6 entries" in note and "W1 6 of 39,200" in note
    # Drawing on (here: over a stroke again) keeps the step the learner reached.
    draw(page, [strokes[0][:2]])
    settled(page)
    section = page.find_element("css selector", "#trace section.trace")
    assert section.get_attribute("data-step") == "1"


def test_a_clicked_class_gets_its_backward_pass(
    page: Any, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images, _ = digits
    clear(page)
    draw(page, digit_strokes(images[7], 280))
    settled(page)
    predicted = top_class(page)
    other = (predicted + 1) % 10
    before = canvas_pixels(page, "#grad28")
    page.find_element("css selector", f"#classes .bar[data-class='{other}']").click()
    settled(page)
    assert page.find_element("id", "grad-class").text == f"{other} (chosen)"
    assert page.find_element("css selector", "#classes .bar.chosen").get_attribute(
        "data-class"
    ) == str(other)
    title = page.find_element("css selector", "#trace section.trace h2").text
    assert title.endswith(f"backward for class {other}")
    assert not np.array_equal(canvas_pixels(page, "#grad28"), before)
    assert top_class(page) == predicted  # the prediction itself does not change
    page.find_element("css selector", f"#classes .bar[data-class='{other}']").click()
    settled(page)
    assert page.find_element("id", "grad-class").text == f"{predicted} (predicted)"


def test_a_finger_draws_too(page: Any, digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    clear(page)
    draw(page, digit_strokes(images[2], 280), kind="touch")
    settled(page)
    assert top_class(page) == labels[2]


def test_an_uploaded_photo(
    page: Any, digits: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    images, labels = digits
    clear(page)
    photo = tmp_path / "four.png"
    ink = np.round(255 * images[4]).astype(np.uint8)
    render(ink, np.random.default_rng(0), ink=(20, 20, 90), paper=(250, 245, 230)).save(photo)
    page.find_element("id", "file").send_keys(str(photo))
    settled(page)
    assert top_class(page) == labels[4]
    seen = canvas_pixels(page, "#input28")[..., 0] / 255.0
    assert np.corrcoef(seen.ravel(), images[4].ravel())[0, 1] > 0.7


def test_the_model_picker_lists_runs_with_test_accuracy(page: Any, book_runs: Path) -> None:
    import json

    history = json.loads((book_runs / "001" / "history.json").read_text())
    accuracy = 100 * history["epochs"][-1]["test_acc"]
    options = page.find_elements("css selector", "#model option")
    assert [o.get_attribute("value") for o in options] == ["001"]
    assert options[0].text == (
        f"{book_runs / '001' / 'model.npz'} \u2014 two-layer, mnist-sample, "
        f"test accuracy {accuracy:.1f}%"
    )


def test_nothing_is_asked_of_any_other_machine(page: Any, page_server: Any) -> None:
    # Every request since the page was opened (the log was emptied then), drawing included.
    requests = network_requests(page, page_server.url)
    assert any(url == page_server.url + "api/predict" for url in requests)
    outside = [url for url in requests if not url.startswith(page_server.url)]
    assert outside == []
    assert page_server.url.startswith("http://127.0.0.1:")
    assert console_errors(page) == []
