"""Traces as one self-contained HTML page: the static viewer, its style and the data inline.

The viewer is ``static/explain.js`` with ``static/explain.css``, shipped as package data.
It renders traces given as JSON (:meth:`~mitbadak.explain.record.Trace.to_dict`), so a
served page can use the same two files. Here both are written into the page with the
JSON, so the file opens offline from anywhere; a Content-Security-Policy forbids the page
to fetch anything at all.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from importlib import resources

from mitbadak.explain.record import Trace, bundle_to_json

__all__ = ["STATIC_FILES", "render_html", "static_text"]

#: The viewer's files, inside the package (``mitbadak/explain/static/``).
STATIC_FILES = ("explain.js", "explain.css")

_POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"


def static_text(name: str) -> str:
    """The text of one of the viewer's :data:`STATIC_FILES`."""
    if name not in STATIC_FILES:
        raise ValueError(f"no static file {name!r}; the files are {STATIC_FILES}")
    return resources.files("mitbadak.explain").joinpath("static", name).read_text("utf-8")


def _inline(text: str) -> str:
    """``text`` safe inside <script> or <style>: no closing tag or comment can appear."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def render_html(traces: Trace | Sequence[Trace], *, title: str = "mitbadak explain") -> str:
    """One HTML page showing ``traces``, with nothing to load from outside."""
    items = [traces] if isinstance(traces, Trace) else list(traces)
    # "<" escaped as \\u003c is still the same JSON, and cannot end the script element.
    data = bundle_to_json(items, title=title).replace("<", "\\u003c")
    script = static_text("explain.js")
    if "</" in script:
        raise ValueError("explain.js must not contain '</' (it is inlined in a script element)")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
{_inline(static_text("explain.css"))}
</style>
</head>
<body>
<main id="mitbadak-explain"></main>
<script type="application/json" id="mitbadak-trace-data">{data}</script>
<script>
{script}
</script>
<script>
MitbadakExplain.renderBundle(
  document.getElementById("mitbadak-explain"),
  JSON.parse(document.getElementById("mitbadak-trace-data").textContent)
);
</script>
</body>
</html>
"""
