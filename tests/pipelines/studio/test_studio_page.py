"""The studio page in a real browser (headless Debian chromium, driven by Playwright):
build prepare → finetune → evaluate by dragging and wiring, fill forms, run, see results."""

import os

import pytest

from nlpfactory.pipelines.studio.server import missing_assets

pytestmark = [pytest.mark.browser, pytest.mark.slow]

try:
    import playwright  # noqa: F401
except ImportError:
    pytest.skip("the browser tests need Playwright: pip install -e '.[browser]'", allow_module_level=True)

from browser import chromium, chromium_path, studio_server  # noqa: E402

if not chromium_path():
    pytest.skip("the browser tests need Debian's chromium: apt-get install -y chromium", allow_module_level=True)
if missing_assets():
    pytest.skip("the studio page's canvas library is missing: make studio-assets", allow_module_level=True)

VIEWPORT = {"width": 1500, "height": 860}


@pytest.fixture
def page(tmp_path):
    with studio_server(tmp_path / "studio") as url, chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        page.goto(url)
        page.wait_for_function("document.querySelectorAll('#open-template option').length > 1")  # menus filled
        yield page


def node(page, node_id):
    return page.locator(f".drawflow-node[data-node-id='{node_id}']")


def drag_in(page, component, x, y):
    page.drag_and_drop(f".palette-item[data-component='{component}']", "#canvas", target_position={"x": x, "y": y})
    node(page, component).wait_for()


def wire(page, source, output, target, input_name):
    start = node(page, source).locator(f".output[data-name='{output}']").bounding_box()
    end = node(page, target).locator(f".input[data-name='{input_name}']").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()


def open_template(page, name):
    """Opens a template and waits for its drawing. The graph name alone does not say it is in:
    reopening the template already on the canvas leaves the name as it was, and a click made
    then lands on the old drawing, which the answer's redraw replaces (unselected)."""
    drawn = page.locator(".drawflow-node").element_handles()
    page.select_option("#open-template", name)
    page.wait_for_function("([name, drawn]) => document.querySelector('#graph-name').value === name && "
                           "drawn.every((n) => !n.isConnected)", arg=[name, drawn])


def fill(page, node_id, field, value):
    node(page, node_id).locator(".title").click()
    page.locator(f"#param-{field}").fill(str(value))


def test_palette_and_every_form_render_without_console_errors(page):
    names = page.locator(".palette-item").evaluate_all("items => items.map(i => i.dataset.component)")
    assert len(names) >= 13
    for name in names:
        page.locator(f".palette-item[data-component='{name}']").dblclick()
        node(page, name).locator(".title").click()
        fields = page.locator("form.params [name]").count()
        expected = page.evaluate(f"components['{name}'].parameters.length")
        assert fields == expected, name
    count = page.locator(".drawflow-node").count()
    node(page, "export").locator(".title").click()
    page.click("#delete-node")
    assert page.locator(".drawflow-node").count() == count - 1
    page.click("#undo")
    assert page.locator(".drawflow-node").count() == count and node(page, "export").count() == 1
    page.fill("#palette-search", "distil")
    visible = page.locator(".palette-item:visible").evaluate_all("items => items.map(i => i.dataset.component)")
    assert visible == ["distill"]
    assert page.console_errors == []


def test_build_wire_fill_and_run_a_finetune_in_the_page(page, tmp_path):
    from helpers import sentiment_frame

    data = tmp_path / "reviews.tsv"
    sentiment_frame(160).to_csv(data, sep="\t", index=False)
    page.fill("#graph-name", "page-finetune")
    drag_in(page, "prepare-data", 40, 60)
    drag_in(page, "finetune", 340, 60)
    drag_in(page, "evaluate", 640, 220)

    wire(page, "finetune", "trained_model", "evaluate", "dataset")  # a Model into a Dataset input
    assert "Wire refused: finetune.trained_model is a Model but evaluate.dataset takes a Dataset" in page.inner_text("#message")
    assert page.locator(".drawflow .connection").count() == 0

    wire(page, "prepare-data", "dataset", "finetune", "dataset")
    wire(page, "prepare-data", "dataset", "evaluate", "dataset")
    wire(page, "finetune", "trained_model", "evaluate", "model")
    assert page.locator(".drawflow .connection").count() == 3

    fill(page, "prepare-data", "data_source", data)
    fill(page, "finetune", "epochs", "three")  # checked as it is typed
    assert "epochs takes a whole number" in page.inner_text("#node-panel")
    fill(page, "finetune", "epochs", 3)
    fill(page, "finetune", "learning_rate", 0.002)
    page.select_option("#param-model", "tiny") if page.locator("select#param-model").count() else fill(page, "finetune", "model", "tiny")
    fill(page, "finetune", "max_length", 32)
    page.wait_for_function("!document.querySelector('.drawflow-node.invalid')")
    if screenshots := os.environ.get("STUDIO_SCREENSHOTS"):
        page.evaluate("document.querySelector('#palette').scrollTop = 0")
        page.screenshot(path=f"{screenshots}/studio-canvas.png")

    page.click("#run-local")
    page.wait_for_function("document.querySelector('#run-state')?.textContent !== 'running' && "
                           "document.querySelector('#run-state')?.textContent", timeout=900_000)
    assert page.inner_text("#run-state") == "done", page.inner_text("#run-panel")
    for node_id in ("prepare-data", "finetune", "evaluate"):
        assert "state-done" in node(page, node_id).get_attribute("class")
    accuracy = page.locator(".result-node[data-node='evaluate'] td[data-metric='accuracy']")
    accuracy.wait_for()
    assert float(accuracy.inner_text()) >= 0.8
    page.locator(".result-node[data-node='evaluate'] img").wait_for()
    assert page.console_errors == []
    if screenshots:
        page.mouse.click(500, 700)  # the empty canvas: no node selected, the run's results show
        page.locator(".result-node[data-node='evaluate'] img").scroll_into_view_if_needed()
        page.evaluate("document.querySelector('#palette').scrollTop = 0")
        page.screenshot(path=f"{screenshots}/studio-results.png")


def test_every_template_opens_on_the_canvas_with_its_loops_and_conditions(page):
    templates = page.locator("#open-template option[value]:not([value=''])").evaluate_all(
        "options => options.map(o => o.value)")
    assert set(templates) == {"backbone", "distill", "fewshot", "finetune", "landing", "metakd"}
    for name in templates:
        open_template(page, name)
        expected = page.evaluate(f"fetch('/api/templates/{name}').then(r => r.json()).then(g => [g.nodes.length, g.edges.length])")
        assert [page.locator(".drawflow-node").count(), page.locator(".drawflow .connection").count()] == expected
    # The page checks the graph it drew (debounced, after opening): wait for that answer.
    with page.expect_response(lambda r: r.url.endswith("/api/validate") and r.request.post_data_json["name"] == "metakd") as checked:
        open_template(page, "metakd")
    assert checked.value.json()["ok"], checked.value.json()
    assert node(page, "distill").locator(".group").inner_text() == "for each domains"
    node(page, "distill").locator(".title").click()
    assert "each item of the loop over “domains”" in page.inner_text("#node-panel")
    assert page.locator(".drawflow-node.invalid").count() == 0
    assert page.console_errors == []
    if screenshots := os.environ.get("STUDIO_SCREENSHOTS"):
        page.screenshot(path=f"{screenshots}/studio-template.png")
