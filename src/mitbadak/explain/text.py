"""A trace as plain text for a terminal: 80 columns, ASCII only, no colour.

The formulas of the trace are written with ×, ·, ᵀ and Σ for the HTML page; here they
become ``*``, ``.``, ``^T`` and ``sum``, since some of those characters are drawn two
columns wide by East Asian terminals and would break the layout.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np

from mitbadak.explain.record import ArrayView, BackwardStep, Picture, Trace

__all__ = ["WIDTH", "ascii_text", "grad_name", "render_text"]

WIDTH = 80

_ASCII = {
    "×": "*",
    "·": ".",
    "ᵀ": "^T",
    "Σ": "sum ",
    "−": "-",
    "⊛": "(*)",
    "√": "sqrt",
    "γ": "gamma",
    "β": "beta",
    "\u0302": "hat",
    "→": "->",
    "≤": "<=",
    "≥": ">=",
}

#: Arrays with more entries or rows than these are summarised in text, not printed whole.
TEXT_LIMIT = 48
TEXT_ROWS = 8

#: Grey levels of an image, dark to bright; gradients use + # (positive), - = (negative).
_GREYS = " .:-=+*#%@"


def ascii_text(text: str) -> str:
    """``text`` with the trace's mathematical characters spelled in ASCII."""
    out = "".join(_ASCII.get(ch, ch) for ch in text)
    return out.replace("sum  ", "sum ").encode("ascii", "replace").decode("ascii")


def grad_name(value: str) -> str:
    """The book's name for a gradient: ``dapple``, ``dW1``, ``d(Affine1.out)``."""
    return f"d{value}" if value.isidentifier() else f"d({value})"


def _num(v: float, digits: int = 4) -> str:
    return f"{v + 0.0:.{digits}g}"  # + 0.0 turns -0.0 (a blocked ReLU unit) into 0


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _wrap(text: str, indent: int, *, subsequent: int | None = None) -> list[str]:
    """``text`` in ASCII, wrapped to :data:`WIDTH` columns, indented."""
    pad = " " * indent
    later = pad if subsequent is None else " " * subsequent
    wrapped = textwrap.wrap(ascii_text(text), WIDTH, initial_indent=pad, subsequent_indent=later)
    return wrapped or [""]


def _array_lines(view: ArrayView, indent: int, width: int = WIDTH) -> list[str] | None:
    """The whole array in rows, or None if it is not kept whole or does not fit."""
    if view.data is None or view.data.ndim > 2 or view.size > TEXT_LIMIT:
        return None
    data = view.data if view.data.ndim == 2 else view.data.reshape(1, -1)
    if data.shape[0] > TEXT_ROWS:
        return None
    cells = [[_num(float(v)) for v in row] for row in data]
    cell = max((len(c) for row in cells for c in row), default=1)
    pad = " " * indent
    lines = []
    for i, row in enumerate(cells):
        body = "  ".join(c.rjust(cell) for c in row)
        if view.data.ndim == 1:
            lines.append(f"{pad}[ {body} ]")
        else:
            open_, close = ("[[" if i == 0 else " [", "]]" if i == len(cells) - 1 else "]")
            lines.append(f"{pad}{open_} {body} {close}")
    if max(len(line) for line in lines) > width and len(cells) == 1:
        return _wrapped_row(cells[0], cell, view.data.ndim, indent, width)
    if max(len(line) for line in lines) > width:
        return None
    return lines


def _wrapped_row(row: list[str], cell: int, ndim: int, indent: int, width: int) -> list[str]:
    """One long row over several lines: ``[[ a  b  c`` / ``   d  e ]]``."""
    open_, close = ("[", "]") if ndim == 1 else ("[[", "]]")
    per_line = max(1, (width - indent - len(open_) - len(close) - 2) // (cell + 2))
    lines = []
    for start in range(0, len(row), per_line):
        chunk = "  ".join(c.rjust(cell) for c in row[start : start + per_line])
        lead = open_ if start == 0 else " " * len(open_)
        tail = f" {close}" if start + per_line >= len(row) else ""
        lines.append(f"{' ' * indent}{lead} {chunk}{tail}")
    return lines


def _summary(view: ArrayView) -> str:
    s = view.stats
    zeros = f", {s['zeros']:,} zeros" if s["zeros"] else ""
    index, value = max(view.entries, key=lambda e: abs(e[1]))
    where = ", ".join(str(i) for i in index)
    return (
        f"min {_num(s['min'], 3)}, max {_num(s['max'], 3)}, mean {_num(s['mean'], 3)}, "
        f"std {_num(s['std'], 3)}{zeros}; largest |v| at [{where}] = {_num(value, 3)}"
    )


def _value_lines(label: str, view: ArrayView, indent: int, *, arrow: bool = False) -> list[str]:
    """``label = 1.1`` for one number; else the label, its shape and the array or summary.

    ``arrow`` starts the first line with ``->`` (a gradient the node sends).
    """
    pad = " " * (indent - 3) + "-> " if arrow else " " * indent
    if view.is_scalar and view.data is not None:
        return [f"{pad}{label} = {_num(view.scalar, 6)}"]
    head = f"{pad}{label}  {_shape(view.shape)}"
    whole = _array_lines(view, indent + 2)
    if whole is not None:
        return [head, *whole]
    return [head, *_wrap(_summary(view), indent + 2)]


def _title(name: str, op: str) -> str:
    """A node's name, with its class when the name does not say it."""
    return name if name == op else f"{name} [{op}]"


def _heading(title: str) -> list[str]:
    return ["=" * WIDTH, ascii_text(title)[:WIDTH], "=" * WIDTH]


def _forward_lines(trace: Trace) -> list[str]:
    lines = ["", "FORWARD, node by node, in the order the graph computes them", ""]
    for node in trace.nodes:
        head = f"({node.forward_index}) {_title(node.name, node.op)}  {node.formula}"
        lines += _wrap(head, 2, subsequent=8)
        parts = []
        for name in [*node.inputs, *node.params]:
            v = trace.value(name).value
            parts.append(
                f"{name} {_num(v.scalar, 6)}" if v.is_scalar else f"{name} {_shape(v.shape)}"
            )
        out = trace.value(node.output).value
        result = (
            f"{node.output} {_num(out.scalar, 6)}"
            if out.is_scalar
            else f"{node.output} {_shape(out.shape)}"
        )
        lines += _wrap(f"{', '.join(parts)}  ->  {result}", 8)
    return lines


def _step_lines(trace: Trace, step: BackwardStep) -> list[str]:
    node = trace.node(step.node)
    lines = [""]
    dname = grad_name(step.dout_value)
    if step.dout.is_scalar:
        lines.append(
            f"  [{step.step}] {_title(node.name, node.op)}  dout = {dname} = "
            f"{_num(step.dout.scalar, 6)}"
        )
    else:
        lines.append(f"  [{step.step}] {_title(node.name, node.op)}  dout = {dname}")
        lines += _value_lines("dout", step.dout, 6)
    lines += _wrap(f"rule: {step.rule.formula}", 6)
    for label, view in step.rule.arrays:
        lines += [ascii_text(line) for line in _value_lines(label, view, 8)]
    if step.rule.explanation:
        lines += _wrap(step.rule.explanation, 6)
    for value, grad in [*step.grads, *step.param_grads]:
        record = trace.value(value)
        label = grad_name(value)
        if len(record.consumers) > 1:
            label += f" (from {node.name})"
        lines += _value_lines(label, grad, 6, arrow=True)
        contributions = record.contributions
        if len(contributions) > 1 and contributions[-1][0] == node.name and record.grad:
            terms = " + ".join(_num(g.scalar, 6) for _, g in contributions if g.is_scalar)
            total = (
                f"{terms} = {_num(record.grad.scalar, 6)}"
                if record.grad.is_scalar
                else "the sum of the arrays above"
            )
            lines += _wrap(
                f"{value} feeds {len(record.consumers)} nodes "
                f"({', '.join(record.consumers)}); their gradients add up: "
                f"{grad_name(value)} = {total}",
                8,
            )
    return lines


def _check_lines(trace: Trace) -> list[str]:
    lines = ["", "GRADIENTS: backprop beside central differences (f(x+h) - f(x-h)) / 2h", ""]
    scalars = all(trace.value(c.value).value.is_scalar for c in trace.checks)
    if scalars:
        lines.append(f"  {'value':<16}{'backprop':>14}{'numerical':>14}{'rel. error':>12}")
    else:
        lines.append(
            f"  {'value':<16}{'shape':>12}{'mean |diff|':>13}{'rel. error':>12}  entries checked"
        )
    for check in trace.checks:
        grad = trace.value(check.value).grad
        assert grad is not None
        name = check.value if len(check.value) < 16 else check.value[:15] + "~"
        rel = _num(check.relative_error, 2)
        if scalars:
            assert check.numerical is not None
            a, n = _num(grad.scalar, 6), _num(check.numerical.scalar, 6)
            lines.append(f"  {name:<16}{a:>14}{n:>14}{rel:>12}")
        else:
            entries = "all" if check.checked == check.size else f"{check.checked:,}"
            diff = _num(check.mean_abs_diff, 2)
            lines.append(f"  {name:<16}{_shape(grad.shape):>12}{diff:>13}{rel:>12}  {entries}")
    lines += _wrap(
        "rel. error = |backprop - numerical| / max(|backprop|, |numerical|) over the whole "
        "array; below 1e-7 the two agree to the rounding of float64 and the step h. "
        "mean |diff| is the figure the book prints.",
        2,
    )
    if not scalars:
        for check in trace.checks:
            grad = trace.value(check.value).grad
            assert grad is not None
            label = grad_name(check.value)
            whole = check.numerical is not None and _array_lines(check.numerical, 6) is not None
            if whole and _array_lines(grad, 6) is not None:
                assert check.numerical is not None
                lines += ["", *_value_lines(f"{label}, backprop", grad, 2)]
                lines += _value_lines(f"{label}, numerical", check.numerical, 2)
            else:
                index, a_worst, n_worst = check.worst[0]
                where = ", ".join(str(i) for i in index)
                lines += [""] + _wrap(
                    f"{label}: largest difference at [{where}]: backprop {_num(a_worst, 6)}, "
                    f"numerical {_num(n_worst, 6)}",
                    2,
                )
    return lines


def _picture_rows(picture: Picture) -> list[str]:
    """28 columns by 14 rows (two image rows per line, as a character is twice as tall)."""
    data = np.asarray(picture.data, dtype=np.float64)
    if data.shape[0] % 2:
        data = np.vstack([data, np.zeros((1, data.shape[1]))])
    halves = (data[0::2] + data[1::2]) / 2
    rows = []
    if picture.signed:
        peak = float(np.abs(halves).max()) or 1.0
        for row in halves / peak:
            rows.append(
                "".join(
                    " " if abs(v) < 0.15 else ("+#" if v > 0 else "-=")[int(abs(v) >= 0.5)]
                    for v in row
                )
            )
    else:
        peak = float(halves.max()) or 1.0
        top = len(_GREYS) - 1
        for row in np.clip(halves / peak, 0, 1):
            rows.append("".join(_GREYS[int(round(v * top))] for v in row))
    return rows


def _picture_lines(trace: Trace) -> list[str]:
    if not trace.pictures:
        return []
    lines = [
        "",
        "PICTURES (2 image rows per line; gradients: + # positive, - = negative,",
        "          blank where |value| < 15% of the picture's largest)",
    ]
    for i in range(0, len(trace.pictures), 2):
        pair = trace.pictures[i : i + 2]
        width = max(len(p.data[0]) for p in pair) + 2
        lines.append("")
        lines.append("  " + "    ".join(ascii_text(p.title)[:width].ljust(width) for p in pair))
        captions = [textwrap.wrap(ascii_text(p.caption), width) or [""] for p in pair]
        for k in range(max(len(c) for c in captions)):
            lines.append(
                "  " + "    ".join((c[k] if k < len(c) else "").ljust(width) for c in captions)
            )
        drawn = [_picture_rows(p) for p in pair]
        for r in range(max(len(d) for d in drawn)):
            cells = ["|" + (d[r] if r < len(d) else "").ljust(width - 2) + "|" for d in drawn]
            lines.append(("  " + "    ".join(cells)).rstrip())
    return lines


def render_trace(trace: Trace) -> str:
    """One trace as text lines of at most 80 columns."""
    lines = _heading(trace.title)
    if trace.description:
        lines += _wrap(trace.description, 0)
    for label, text in trace.summary:
        lines += _wrap(f"{label}: {text}", 2)
    for note in trace.notes:
        lines += _wrap(note, 2)
    lines += _forward_lines(trace)
    output = trace.value(trace.output)
    lines += [
        "",
        f"BACKWARD, in reverse order, starting from {grad_name(output.name)} = 1",
    ]
    for step in trace.backward:
        lines += _step_lines(trace, step)
    lines += _check_lines(trace)
    lines += _picture_lines(trace)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render_text(traces: Trace | Sequence[Trace]) -> str:
    """Traces as text for a terminal: at most 80 columns, ASCII, no control characters."""
    items = [traces] if isinstance(traces, Trace) else list(traces)
    return "\n".join(render_trace(t) for t in items)
