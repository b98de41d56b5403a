"""Finding a dataset's files on disk, and downloading the missing ones from mirrors.

A file that fails its hash is never parsed: in the user's ``data_dir`` it is an error (we
do not delete the user's files), in a system folder it is skipped with a warning, in our
own cache it is deleted and downloaded again. Downloads go through :func:`pooch.retrieve`,
which streams into a temporary file next to the target and renames it only once the hash
matches, so a failed or corrupt download never leaves a file behind; the transfer itself
(:mod:`mitbadak.data.transfer`) has a deadline and a size cap. A SIGTERM during a download
removes the partial file before the process ends.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pooch

from mitbadak._files import default_mode, sigterm_cleans_up
from mitbadak.data.sources import (
    ENV_VAR,
    DataSource,
    DataUnavailableError,
    cache_dir,
    matching_hash,
)
from mitbadak.data.transfer import download, failure_reason

__all__ = ["fetch", "locate", "verify_data_dir"]


def _auto_progressbar() -> bool:
    # A progress bar redrawn into a log file or a CI transcript is noise; only draw on a TTY.
    stream = sys.stderr
    return stream is not None and stream.isatty()


def locate(
    source: DataSource,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progressbar: bool | None = None,
    timeout: float = 30.0,
) -> dict[str, Path]:
    """Find every file of ``source`` on disk, downloading the missing ones.

    Each file is looked for in ``data_dir`` (if given), then ``source.system_dirs``, then
    ``cache_dir() / source.name``; the first copy whose hash is accepted wins. Missing files
    are downloaded into ``cache_dir() / source.name`` (never into ``data_dir``).

    Parameters
    ----------
    source : DataSource
        The dataset.
    data_dir : str or os.PathLike, optional
        A folder holding the files under their usual names.
    download : bool
        If False, never touch the network: a missing file is an error.
    progressbar : bool, optional
        Draw download progress on stderr; by default only when stderr is a terminal.
    timeout : float
        Seconds to wait for a mirror to connect or send data.

    Returns
    -------
    dict[str, Path]
        File name -> verified local path, for every name in ``source.files``.

    Raises
    ------
    ValueError
        If a file in ``data_dir`` exists but fails its hash.
    DataUnavailableError
        If a file is missing and ``download`` is False or every mirror failed.
    """
    found = {} if data_dir is None else verify_data_dir(source, data_dir)
    folders: list[tuple[Path, str]] = [(folder, "system") for folder in source.system_dirs]
    unusable: DataUnavailableError | None = None
    try:
        download_dir = cache_dir() / source.name
        folders.append((download_dir, "cache"))
    except DataUnavailableError as exc:
        unusable = exc  # only an error if a file must be downloaded

    for fname in source.files:
        if fname in found:
            continue
        for folder, kind in folders:
            path = folder / fname
            if not path.is_file():
                continue
            ok, actual = matching_hash(path, source.accepted_hashes(fname))
            if ok:
                found[fname] = path
                break
            if kind == "system":
                expected = " or ".join(source.accepted_hashes(fname))
                warnings.warn(
                    f"ignoring {path}: hash {actual} is not the known {expected}",
                    stacklevel=2,
                )
            # A bad copy in our own cache is left for fetch() to delete and download again.

    missing = [fname for fname in source.files if fname not in found]
    if missing and not download:
        searched = ", ".join(str(f) for f in [data_dir, *(folder for folder, _ in folders)] if f)
        raise DataUnavailableError(
            f"{source.name}: {', '.join(missing)} not found (searched {searched}) and "
            f"download=False. {_what_to_do(source)}",
            reason=f"{', '.join(missing)} not found and download=False",
        )
    if missing:
        if unusable is not None:
            raise unusable
        found.update(fetch(source, download_dir, missing, progressbar=progressbar, timeout=timeout))
    return found


def verify_data_dir(source: DataSource, data_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """The files of ``source`` present in ``data_dir``, each checked against its hash.

    ``ValueError`` naming the file if one fails (a user's file is reported, never
    deleted or silently passed over), or if ``data_dir`` is not a folder.
    """
    folder = Path(data_dir)
    if not folder.is_dir():
        raise ValueError(f"data_dir {folder} is not a folder")
    found: dict[str, Path] = {}
    for fname in source.files:
        path = folder / fname
        if not path.exists():
            continue
        if not path.is_file():
            raise ValueError(f"{path}: is not a file")
        ok, actual = matching_hash(path, source.accepted_hashes(fname))
        if not ok:
            expected = " or ".join(source.accepted_hashes(fname))
            raise ValueError(
                f"{path}: hash {actual} is not the known {source.name} {fname} "
                f"({expected}); the file is corrupt or a different version, replace it "
                f"or remove it from {folder}"
            )
        found[fname] = path
    return found


def fetch(
    source: DataSource,
    dest_dir: str | os.PathLike[str],
    names: Iterable[str] | None = None,
    *,
    progressbar: bool | None = None,
    timeout: float = 30.0,
) -> dict[str, Path]:
    """Download files of ``source`` into ``dest_dir``, trying each mirror in order.

    A file already in ``dest_dir`` with the right hash is kept; one with a wrong hash is
    deleted first. A download whose hash does not match is discarded by pooch (no file or
    temporary file stays behind) and the next mirror is tried. Stops at the first file
    that no mirror could provide.

    Parameters
    ----------
    source : DataSource
        The dataset: mirrors and known hashes.
    dest_dir : str or os.PathLike
        Folder to download into; created if missing. Treated as ours to write and delete in.
    names : iterable of str, optional
        Which files; default all of ``source.files``.
    progressbar : bool, optional
        Draw download progress on stderr; by default only when stderr is a terminal.
    timeout : float
        Seconds to wait for a mirror to connect or send data.

    Returns
    -------
    dict[str, Path]
        File name -> verified path in ``dest_dir``.

    Raises
    ------
    ValueError
        If ``names`` holds a file that is not in ``source.files``.
    DataUnavailableError
        If every mirror failed for some file (the message lists each address tried and
        why it failed), or ``dest_dir`` cannot be created.
    """
    dest = Path(dest_dir)
    wanted = list(source.files) if names is None else list(names)
    unknown = [fname for fname in wanted if fname not in source.files]
    if unknown:
        raise ValueError(
            f"{source.name}: unknown file(s) {unknown}; expected names from {sorted(source.files)}"
        )
    if progressbar is None:
        progressbar = _auto_progressbar()
    _check_writable(source, dest)

    # pooch logs every attempt at INFO level; failed attempts are reported once, in the
    # error below, and a real download shows its progress bar instead.
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with sigterm_cleans_up():
            return _fetch_files(source, dest, wanted, progressbar=progressbar, timeout=timeout)
    finally:
        logger.setLevel(level)


def _check_writable(source: DataSource, dest: Path) -> None:
    """``DataUnavailableError`` saying why, unless files can be created in ``dest``."""
    try:
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=dest):
            pass
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        env = os.environ.get(ENV_VAR, "")
        setting = f"{ENV_VAR}={env!r}: " if env else ""
        reason = f"{setting}{dest} is not a writable folder ({why})"
        raise DataUnavailableError(
            f"{source.name}: cannot create the download folder {dest} or write in it ({why}); set "
            f"{ENV_VAR} to a writable folder. {_what_to_do(source)}",
            reason=reason,
        ) from exc


def _downloader(
    source: DataSource, fname: str, *, timeout: float, progressbar: bool
) -> Callable[..., None]:
    """What pooch calls to fill its temporary file: our bounded transfer."""

    def run(url: str, output_file: str, _: Any) -> None:
        download(
            url,
            output_file,
            size_limit=source.size_limit(fname),
            timeout=timeout,
            gzip_expected=fname.endswith(".gz"),
            progressbar=progressbar,
        )
        # pooch's temporary file is 0600 and keeps that mode when renamed: give the
        # file the mode the user's umask asks for.
        os.chmod(output_file, default_mode())

    return run


def _fetch_files(
    source: DataSource, dest: Path, wanted: list[str], *, progressbar: bool, timeout: float
) -> dict[str, Path]:
    fetched: dict[str, Path] = {}
    for fname in wanted:
        target = dest / fname
        if target.is_file():
            if matching_hash(target, source.accepted_hashes(fname))[0]:
                fetched[fname] = target
            else:
                # Our own copy and corrupt: delete it now, so that it is gone even if the
                # download fails, and so that pooch does not mistake it for an old version.
                target.unlink()
    for fname in wanted:
        if fname in fetched:
            continue
        failures: list[str] = []
        reasons: list[str] = []
        downloader = _downloader(source, fname, timeout=timeout, progressbar=progressbar)
        for mirror in source.mirrors:
            url = source.url(mirror, fname)
            try:
                pooch.retrieve(
                    url,
                    known_hash=source.files[fname],
                    fname=fname,
                    path=dest,
                    downloader=downloader,
                )
            except (ValueError, OSError) as exc:
                # ValueError: pooch's hash mismatch (it has already deleted the download).
                # OSError: connection, HTTP, timeout and size errors, and disk errors.
                failures.append(f"  {url}\n    {type(exc).__name__}: {_one_line(exc)}")
                if (reason := failure_reason(exc)) not in reasons:
                    reasons.append(reason)
                continue
            fetched[fname] = dest / fname
            break
        else:
            tried = "\n".join(failures) if failures else "  (no mirrors configured)"
            raise DataUnavailableError(
                f"{source.name}: could not download {fname}; every address failed:\n"
                f"{tried}\n{_what_to_do(source)}",
                reason="; ".join(reasons) or "no mirrors configured",
            )
    return fetched


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _what_to_do(source: DataSource) -> str:
    names = ", ".join(source.files)
    try:
        folder = str(cache_dir() / source.name)
    except DataUnavailableError:
        folder = f"the folder {ENV_VAR} names"
    return (
        f"To use {source.name} offline, put the files {names} in a folder and pass "
        f"data_dir=<folder> (or copy them into {folder}, or set "
        f"{ENV_VAR}=<folder> and copy them into <folder>/{source.name}); or use "
        f'dataset="mnist-sample", which ships with mitbadak and needs no download.'
    )
