"""See backprop happen: a trace of one forward and backward pass, as text or as a page.

- :class:`Trace` (``trace.to_dict()`` / ``to_json()``): every value, node, backward step
  and numerical check of one pass; :class:`GraphTracer` builds one from nodes;
  :func:`trace_network` from a network and a batch; :func:`apple_trace` and friends are
  the worked examples of ``mitbadak explain``.
- :func:`render_text`: the trace for a terminal (80 columns, plain text).
- :func:`render_html`: one self-contained HTML page (inline SVG and JavaScript).
"""

from mitbadak.explain.examples import (
    apple_trace,
    default_traces,
    tax_twice_trace,
    tiny_network_trace,
)
from mitbadak.explain.network import trace_network
from mitbadak.explain.record import ArrayView, Trace, bundle_to_json
from mitbadak.explain.tracer import GraphTracer

__all__ = [
    "ArrayView",
    "GraphTracer",
    "Trace",
    "apple_trace",
    "bundle_to_json",
    "default_traces",
    "tax_twice_trace",
    "tiny_network_trace",
    "trace_network",
]
