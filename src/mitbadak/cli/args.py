"""The command line's arguments: value types, and every command's flags.

The facts behind the choices (datasets, optimizers, networks, the book's defaults)
belong to the library and are imported from it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import NoReturn

from mitbadak import __version__
from mitbadak.data.mnist import DATASETS
from mitbadak.i18n import LANGUAGES
from mitbadak.initializers import SCHEMES
from mitbadak.models import CLI_MODELS, TwoLayerNet
from mitbadak.optimizers import OPTIMIZERS

__all__ = ["build_parser"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block, as the rest of the CLI does.
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(text: str, *, integer: bool, minimum: float, strict: bool, what: str) -> float:
    """Parse ``text``; ``ArgumentTypeError`` naming ``what`` unless it is above ``minimum``."""
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, received {text!r}") from None
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        raise argparse.ArgumentTypeError(f"expected {what}, received {text!r}")
    return value


def positive_int(text: str) -> int:
    return int(_number(text, integer=True, minimum=0, strict=True, what="a positive integer"))


def non_negative_int(text: str) -> int:
    return int(_number(text, integer=True, minimum=0, strict=False, what="an integer >= 0"))


def positive_float(text: str) -> float:
    return _number(text, integer=False, minimum=0, strict=True, what="a positive number")


def non_negative_float(text: str) -> float:
    return _number(text, integer=False, minimum=0, strict=False, what="a number >= 0")


def ratio(text: str) -> float:
    value = non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a ratio in [0, 1), received {text!r}")
    return value


def hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(positive_int(part) for part in text.split(","))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, received {text!r}"
        ) from None


def _add_lang(parser: argparse.ArgumentParser, what: str, *, top: bool = False) -> None:
    """``--lang``, on the ``mitbadak`` parser and again on each command.

    On a command its default is SUPPRESS, so ``mitbadak --lang ko train`` is not undone
    by the command's own default: either place works, the later one wins.
    """
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=None if top else argparse.SUPPRESS,
        help=f"{what} (default: ko under a Korean locale such as LANG=ko_KR.UTF-8, else en)",
    )


def _add_data_args(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default=default,
        help=f"which data to use (default: {default})",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder holding the four IDX .gz files (default: the user cache)",
    )


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train a network (default: the book's 784-50-10 net, SGD, lr 0.1, 1000 iterations)",
        description="Mini-batch training with per-epoch train/test accuracy. Writes model.npz, "
        "history.json and curves.png into --out.",
    )
    _add_data_args(train, "mnist")
    default = TwoLayerNet.cli_name
    train.add_argument(
        "--model", choices=list(CLI_MODELS), default=default, help=f"(default: {default})"
    )
    defaults = ", ".join(
        f"{','.join(map(str, cls.default_hidden))} for {name}" for name, cls in CLI_MODELS.items()
    )
    train.add_argument(
        "--hidden",
        type=hidden_sizes,
        default=None,
        metavar="N[,N...]",
        help=f"hidden layer width(s) (default: the book's, {defaults})",
    )
    length = train.add_mutually_exclusive_group()
    length.add_argument("--iters", type=positive_int, default=None, help="(default: 1000)")
    length.add_argument("--epochs", type=positive_int, default=None)
    train.add_argument("--batch-size", type=positive_int, default=100, help="(default: 100)")
    train.add_argument("--lr", type=positive_float, default=0.1, help="(default: 0.1)")
    train.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd")
    train.add_argument(
        "--sampling",
        choices=("replacement", "shuffle"),
        default="replacement",
        help="batches drawn with replacement as in the book, or shuffled epochs",
    )
    train.add_argument(
        "--seed", type=non_negative_int, default=0, help="seeds weights and batches (default: 0)"
    )
    train.add_argument(
        "--weight-init-std",
        type=positive_float,
        default=0.01,
        help="standard deviation of the weights for --init std (default: 0.01)",
    )
    schemes = [s for s in SCHEMES if s in ("std", "xavier", "he")]
    train.add_argument(
        "--init",
        choices=schemes,
        default=None,
        help="weight initialisation (default: he for mlp, std for the others)",
    )
    train.add_argument("--batchnorm", action="store_true", help="mlp only")
    train.add_argument("--dropout", type=ratio, default=0.0, metavar="P", help="mlp only")
    train.add_argument(
        "--weight-decay",
        type=non_negative_float,
        default=0.0,
        metavar="LAMBDA",
        help="L2 penalty (in the loss for mlp, in the optimizer's gradient otherwise)",
    )
    train.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="BLAS threads (default: 1; see benchmarks/README.md for why)",
    )
    train.add_argument("--out", type=Path, default=None, help="run folder (default: runs/NNN)")
    train.add_argument("--force", action="store_true", help="allow writing into an existing --out")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_lang(train, "language of the output and of curves.png's titles and labels")


def input_shape(text: str) -> tuple[int, ...]:
    try:
        return tuple(positive_int(part) for part in text.replace("x", ",").split(","))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, such as 3,4, received {text!r}"
        ) from None


def _add_explain(commands: argparse._SubParsersAction) -> None:
    explain = commands.add_parser(
        "explain",
        help="see backprop happen: one forward and backward pass, node by node",
        description="Without MODEL: the book's apple example, a value used twice and a tiny "
        "TwoLayerNet. With MODEL: a trained model on one test image or an image file.",
    )
    explain.add_argument("model", type=Path, nargs="?", default=None, metavar="MODEL")
    which = explain.add_mutually_exclusive_group()
    which.add_argument(
        "--index", type=non_negative_int, default=None, help="test image to use (default: 0)"
    )
    which.add_argument(
        "--image",
        type=Path,
        default=None,
        help="an image of a digit instead (prepared as predict does)",
    )
    explain.add_argument(
        "--label",
        type=non_negative_int,
        default=None,
        help="the label the loss is taken for (default: the test label, or for --image the "
        "predicted class)",
    )
    explain.add_argument(
        "--dataset", choices=DATASETS, default=None, help="(default: the model's own)"
    )
    explain.add_argument("--data-dir", type=Path, default=None, metavar="DIR")
    explain.add_argument(
        "--numerical-entries",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="entries of each input and parameter checked by central differences "
        "(0: all; default: all for small networks, 1000 otherwise)",
    )
    explain.add_argument(
        "--html",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write one self-contained HTML page (works offline)",
    )
    explain.add_argument(
        "--json", type=Path, default=None, metavar="FILE", help="also write the trace as JSON"
    )
    explain.add_argument("--force", action="store_true", help="replace existing --html/--json")


def _add_check(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check",
        help="check your own layer class: shapes, dout, gradients, state",
        description="Import FILE.py, build ClassName with made-up weights, run forward and "
        "backward, and compare each gradient with central differences. Exit code 0 when "
        "every check passes, 1 otherwise.",
    )
    check.add_argument("target", metavar="FILE.py:ClassName")
    check.add_argument(
        "--input-shape",
        type=input_shape,
        default=None,
        metavar="N,D,...",
        help="shape of the input x (default: one that suits the layer, e.g. 3,4)",
    )
    _add_lang(check, "language of the report")


def port_number(text: str) -> int:
    value = int(_number(text, integer=True, minimum=0, strict=False, what="a port number"))
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number up to 65535, received {text!r}")
    return value


def _add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="a local web page: draw a digit and watch the network, backward pass included",
        description="Serve a page on this machine where you draw a digit (or upload an image) "
        "and see the prediction, the hidden layer, the input's gradient and the backward pass "
        "step by step. Without MODEL: the newest run under --runs, or the book's network "
        "trained first on the bundled sample.",
    )
    serve.add_argument("model", type=Path, nargs="?", default=None, metavar="MODEL")
    serve.add_argument(
        "--port", type=port_number, default=8000, help="(default: 8000; 0 picks a free one)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only)",
    )
    serve.add_argument(
        "--runs",
        type=Path,
        default=Path("runs"),
        metavar="DIR",
        help="folder of run folders offered in the page's model picker (default: runs)",
    )
    serve.add_argument(
        "--numerical-entries",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="entries of each input and parameter checked by central differences per "
        "request (default: 6; 0: all, which takes seconds)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mitbadak",
        description="Deep learning from the very bottom: backprop written by hand, one layer "
        "class at a time.",
    )
    parser.add_argument("--version", action="version", version=f"mitbadak {__version__}")
    _add_lang(parser, "language of every command's output", top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    _add_train(commands)

    evaluate = commands.add_parser("evaluate", help="accuracy and confusion matrix of a model")
    evaluate.add_argument("model", type=Path, metavar="MODEL")
    _add_data_args(evaluate, "mnist")

    predict = commands.add_parser(
        "predict",
        help="classify handwritten digits in images (PNG, JPEG, ...; any size and colour)",
        description="Each image is prepared as MNIST's digits were (grayscale, white on "
        "black, cropped, fitted to 20x20, centred by its centre of mass in 28x28) and "
        "classified.",
    )
    predict.add_argument("model", type=Path, metavar="MODEL")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    predict.add_argument(
        "--top", type=positive_int, default=3, help="classes shown with their probability"
    )
    predict.add_argument(
        "--show",
        action="store_true",
        help="write the prepared 28x28 image beside each input (digit.png -> digit.mnist.png)",
    )

    gradcheck = commands.add_parser(
        "gradcheck", help="the book's gradient check: backprop vs numerical gradients"
    )
    _add_data_args(gradcheck, "mnist-sample")
    gradcheck.add_argument("--samples", type=positive_int, default=3, help="(default: 3)")
    default_hidden = TwoLayerNet.default_hidden[0]
    gradcheck.add_argument(
        "--hidden", type=positive_int, default=default_hidden, help=f"(default: {default_hidden})"
    )
    gradcheck.add_argument("--seed", type=non_negative_int, default=0)

    _add_explain(commands)
    _add_check(commands)

    commands.add_parser(
        "doctor",
        help="what this machine gives mitbadak (Python, BLAS, data, Hangul font, console)",
        description="One line per check, each saying what to do when something is missing.",
    )
    _add_serve(commands)
    for name, command in commands.choices.items():
        if name not in ("train", "check"):
            _add_lang(command, "language of the output")
    return parser
