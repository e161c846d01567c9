"""Where photo files live: one flat folder, MEDIA_ROOT, of content-addressed names.

Every worker must see the same folder (a shared volume with several; deploy/).
A name is ``<key>-<width>.<webp|jpg>``, made here from a photo's key, never
from anything a user sent; a file is written under a temporary name and
renamed, so a reader sees the whole file or none.
"""

import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from flask import current_app

from shop.images import ENCODINGS, ProcessedPhoto, widths_for

NAME = re.compile(r"[0-9a-f]{32}-[0-9]{1,4}\.(?:webp|jpg)")


def file_name(key: str, width: int, extension: str) -> str:
    return f"{key}-{width}.{extension}"


def root() -> Path:
    return Path(current_app.config["MEDIA_ROOT"])


def store(photo: ProcessedPhoto) -> None:
    """Write every rendition of ``photo`` (one already there is the same bytes: kept)."""
    folder = root()
    folder.mkdir(parents=True, exist_ok=True)
    for rendition in photo.renditions:
        path = folder / file_name(photo.key, rendition.width, rendition.extension)
        if path.exists():
            os.utime(path)  # fresh again: the orphan sweep must not take it before its row commits
            continue
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(rendition.data)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def remove(key: str, width: int) -> None:
    """Delete the files of the photo ``key`` whose largest rendition is ``width`` wide."""
    folder = root()
    for size in widths_for(width):
        for extension in ENCODINGS:
            (folder / file_name(key, size, extension)).unlink(missing_ok=True)


def remove_orphans(keys_in_use: Iterable[str], older_than: float) -> int:
    """Delete photo files that no key in ``keys_in_use`` names, and abandoned temporary
    files, if untouched for ``older_than`` seconds; how many went. The age is what
    keeps an upload's files safe between their writing and its row's commit."""
    folder = root()
    if not folder.is_dir():
        return 0
    in_use, cutoff, removed = set(keys_in_use), time.time() - older_than, 0
    for path in folder.iterdir():
        named = NAME.fullmatch(path.name)
        orphan = (named and path.name.split("-", 1)[0] not in in_use) or path.name.startswith(".upload-")
        if orphan and _untouched_since(path, cutoff):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _untouched_since(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False
