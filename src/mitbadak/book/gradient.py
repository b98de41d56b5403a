"""The book's ``common/gradient.py``: the numerical gradient by central differences.

``from common.gradient import numerical_gradient`` becomes
``from mitbadak.book.gradient import numerical_gradient``.
"""

from __future__ import annotations

from mitbadak.numerical import numerical_gradient

__all__ = ["numerical_gradient", "numerical_gradient_2d"]

#: The book's row-by-row version for 1-D and 2-D arrays; the same numbers, since
#: :func:`numerical_gradient` takes arrays of any shape.
numerical_gradient_2d = numerical_gradient
