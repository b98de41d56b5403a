"""Not a layer: script code that calls sys.exit() when imported."""

import sys

sys.exit("run me as a script")
