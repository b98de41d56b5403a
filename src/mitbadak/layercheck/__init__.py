"""``mitbadak check``: run a learner's own layer class and say what is wrong with it.

:func:`check_target` imports ``FILE.py``, builds ``ClassName`` with made-up weights,
runs forward and backward on float64 inputs and returns a :class:`Report`: shapes,
whether backward writes into ``dout`` or returns it, each gradient against central
differences with its relative error read in bands, and what happens when forward or
backward is called twice. ``report.render("ko")`` words it in Korean.

A file that cannot be imported or a class that is not there raises :class:`LoadError`;
a class the checker cannot build raises :class:`SetupError`; both carry a message key
(``error.<key>``) for :func:`mitbadak.layercheck.messages.say`.
"""

from pathlib import Path

from mitbadak.layercheck.loading import LoadError, load_class, parse_target
from mitbadak.layercheck.messages import language, say
from mitbadak.layercheck.probes import run_checks
from mitbadak.layercheck.report import Report
from mitbadak.layercheck.setup import SetupError, make_setup

__all__ = ["LoadError", "Report", "SetupError", "check_class", "check_target", "language", "say"]


def check_class(cls: type, *, path: str = "", input_shape: tuple[int, ...] | None = None) -> Report:
    """Check the class ``cls`` (defined in the file ``path``, for locating errors)."""
    setup = make_setup(cls, input_shape)
    findings, names = run_checks(setup, Path(path))
    # The file name only: a long path would break the 80 columns.
    target = f"{Path(path).name}:{cls.__name__}" if path else cls.__name__
    kind = setup.kind
    inputs = "loss_index" if kind == "loss" and setup.inputs[1].ndim == 1 else kind
    return Report(target, kind, setup.inputs[0].shape, names, findings, inputs)


def check_target(target: str, *, input_shape: tuple[int, ...] | None = None) -> Report:
    """Check ``FILE.py:ClassName``; :class:`LoadError` if it cannot be had."""
    parsed = parse_target(target)
    cls = load_class(parsed)
    return check_class(cls, path=str(parsed.path), input_shape=input_shape)
