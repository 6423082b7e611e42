"""Messages from files: a single .eml, an mbox, a Maildir, a folder of .eml files, or stdin.

Yields (label, raw bytes) without parsing, so the ingest service sees exactly
the bytes that were on disk.
"""

import mailbox
import os
from collections.abc import Iterator
from pathlib import Path


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def count_messages(paths: list[str]) -> int | None:
    """How many messages the paths hold (for the progress bar); None when unknown (stdin)."""
    total = 0
    for name in paths:
        if name == "-":
            return None
        path = Path(name)
        if path.is_dir():
            total += len(mailbox.Maildir(path, factory=None)) if _is_maildir(path) else sum(
                1 for _ in _eml_files(path))
        elif path.is_file() and _is_mbox(path):
            total += len(mailbox.mbox(path, factory=None, create=False))
        else:
            total += 1
    return total


def _eml_files(folder: Path) -> Iterator[Path]:
    for root, _dirs, files in os.walk(folder):
        for name in sorted(files):
            if name.endswith(".eml"):
                yield Path(root) / name


def iter_messages(paths: list[str], *, stdin=None) -> Iterator[tuple[str, bytes]]:
    for name in paths:
        if name == "-":
            yield "<stdin>", stdin.read()
            continue
        path = Path(name)
        if path.is_dir() and _is_maildir(path):
            box = mailbox.Maildir(path, factory=None, create=False)
            for key in sorted(box.keys()):
                yield f"{path}/{key}", box.get_bytes(key)
        elif path.is_dir():
            for file in sorted(_eml_files(path)):
                yield str(file), file.read_bytes()
        elif _is_mbox(path):
            box = mailbox.mbox(path, factory=None, create=False)
            for key in box.iterkeys():
                yield f"{path}#{key}", box.get_bytes(key)
        else:
            yield str(path), path.read_bytes()
