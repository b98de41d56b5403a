"""``mitbadak serve``: the local page where you draw a digit and watch the network.

The model: MODEL if given, else the newest run under ``--runs``; with neither, the book's
network is trained first on the bundled sample (as ``mitbadak train --dataset
mnist-sample`` would), and the command says so. The server listens on 127.0.0.1 unless
told otherwise, prints the address to open, and stops on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import sys
from pathlib import Path

from mitbadak.cli.common import load_model
from mitbadak.cli.errors import CommandError

__all__ = ["TRAIN_ARGS", "run"]

#: What runs when there is no model yet: the book's network on the bundled sample.
TRAIN_ARGS = ["train", "--dataset", "mnist-sample"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _train_first(runs: Path) -> None:
    from mitbadak.cli.args import build_parser
    from mitbadak.cli.train import run as train
    from mitbadak.runs import new_run_dir

    try:
        out = new_run_dir(runs).path
    except OSError as exc:
        raise CommandError(f"cannot make a run folder under {runs}: {exc.strerror}") from exc
    print(
        f"mitbadak serve: no model given and none under {runs}/: training the book's network "
        f"(784-50-10, 1000 iterations) on the bundled mnist-sample into {out} first",
        flush=True,
    )
    args = build_parser().parse_args([*TRAIN_ARGS, "--out", str(out)])
    code = 1
    try:
        code = train(args)
    finally:
        if code != 0:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if training left nothing in it
    if code != 0:
        raise CommandError(f"training stopped (exit code {code}); no model to serve")


def run(args: argparse.Namespace) -> int:
    from threadpoolctl import threadpool_limits

    from mitbadak.web import ModelCatalog, make_server
    from mitbadak.web.analysis import NUMERICAL_ENTRIES

    if args.model is not None:
        load_model(args.model)  # fail now, with one line, rather than on the first request
    catalog = ModelCatalog(args.runs, args.model)
    default = catalog.default_id()
    if default is None:
        _train_first(args.runs)
        default = catalog.default_id()
    if default is None:
        raise CommandError(f"no model.npz found under {args.runs} after training")
    entry = catalog.find(default)
    entries = args.numerical_entries
    limit = NUMERICAL_ENTRIES if entries is None else (None if entries == 0 else entries)
    try:
        server = make_server(
            catalog, args.host, args.port, default_model=default, numerical_entries=limit
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                f"port {args.port} on {args.host} is in use; pick another with --port "
                "(--port 0 picks a free one)"
            ) from exc
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from exc
    if args.host not in _LOOPBACK:
        print(
            f"mitbadak serve: warning: listening on {args.host}, so other machines can reach "
            "this page; it has no password",
            file=sys.stderr,
        )
    if limit is None:
        print(
            "mitbadak serve: warning: every entry is checked by central differences, so each "
            "answer takes seconds",
            file=sys.stderr,
        )
    count = len(catalog.entries())
    print(f"mitbadak serve: model {entry.shown} ({count} model{'s' if count != 1 else ''} found)")
    print(f"mitbadak serve: open {server.url} in a browser (Ctrl-C stops)", flush=True)
    # One BLAS thread: a request is many small products, which threads only slow down.
    with threadpool_limits(limits=1, user_api="blas"):
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nmitbadak serve: stopped", flush=True)
        finally:
            server.server_close()
    return 0
