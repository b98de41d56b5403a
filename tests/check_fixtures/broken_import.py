"""Not a layer: importing it fails, as a file needing the book's common package might."""

from common.layers import Relu  # noqa: F401
