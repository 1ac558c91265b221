"""A model archive unpacked once, beside it, instead of at every load.

Rasa 3.6 loads a model by extracting its whole archive (a gzipped tar of ~40 MB, most of it
DIET's weights) into a temporary folder and reading the components from there: ~0.5 s of CPU
per model, on the path to a bot's first reply. An archive's files are unpacked once into
`models/.unpacked/<archive>-<size>-<mtime>/` (a retrained archive has another size or mtime,
so another folder) and Rasa's model storage reads the components from there: the same files,
so the same model (tests/nlu/test_fast_load.py compares every language's readings with
Rasa's own `Agent.load`). The files are made read-only, so nothing can change them under a
later load, and readable by whoever may read the archive: a release unpacked by its owner
(`make test` as root in /opt/aftercare) serves the NLU service's and the shops' own users,
whose read-only view of the release cannot unpack it again. A folder that cannot be written
only means unpacking as before, every time.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

log = logging.getLogger(__name__)

UNPACKED_DIR = ".unpacked"
_SUFFIX = ".tar.gz"


def unpacked_folder(archive: Path) -> Path:
    """Where `archive` is (or would be) unpacked: named by its name, size and mtime."""
    facts = archive.stat()
    stem = archive.name.removesuffix(_SUFFIX)
    return archive.parent / UNPACKED_DIR / f"{stem}-{facts.st_size}-{facts.st_mtime_ns}"


def unpack(archive: Path) -> Optional[Path]:
    """`archive`'s unpacked folder, unpacked now if it is not yet; None when it cannot be
    (an unwritable folder, a full disk): the caller then extracts as Rasa does."""
    folder = unpacked_folder(archive)
    readers = archive.stat().st_mode & 0o444
    if folder.is_dir():
        _open_to(folder, readers)
        return folder
    from tarsafe import TarSafe         # Rasa's own guard against paths leaving the folder

    scratch: Optional[Path] = None
    try:
        folder.parent.mkdir(exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=folder.parent))
        with TarSafe.open(archive, mode="r:gz") as tar:
            tar.extractall(scratch)
        _read_only(scratch, readers)
        os.rename(scratch, folder)      # whole or not at all; another process may win the race
        scratch = None
    except OSError as exc:
        if folder.is_dir():             # another process unpacked it meanwhile
            return folder
        log.debug("%s was not unpacked beside it: %s", archive, exc)
        return None
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    _prune(folder.parent)
    return folder


def _read_only(folder: Path, readers: int) -> None:
    """Files read-only; folders (mkdtemp's is 0700) open to `readers` (the archive's read bits),
    and writable by their owner alone, so `_prune` can remove them."""
    readers |= stat.S_IRUSR
    folders = readers | (readers >> 2) | stat.S_IWUSR          # r -> r-x for the same readers
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        path.chmod(folders if path.is_dir() else readers)


def _open_to(folder: Path, readers: int) -> None:
    """A folder an older version left as mkdtemp made it (0700) is opened to the archive's
    readers on its owner's next load (`make test` in the release)."""
    with contextlib.suppress(OSError):
        facts = folder.stat()
        if facts.st_uid == os.geteuid() and (stat.S_IMODE(facts.st_mode) & 0o444) != (readers | stat.S_IRUSR):
            _read_only(folder, readers)


def _prune(unpacked: Path) -> None:
    """Remove unpacked folders whose archive is gone or was rewritten (another size or mtime)."""
    for folder in unpacked.iterdir():
        if folder.name.startswith("."):
            continue
        stem = folder.name.rsplit("-", 2)[0]
        archive = unpacked.parent / f"{stem}{_SUFFIX}"
        with contextlib.suppress(OSError):
            if not archive.exists() or unpacked_folder(archive) != folder:
                shutil.rmtree(folder)


@contextlib.contextmanager
def loading_unpacked() -> Iterator[None]:
    """While a model loads: Rasa's model storage reads the archive's unpacked folder."""
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    inherited = LocalModelStorage.__dict__["from_model_archive"]
    LocalModelStorage.from_model_archive = classmethod(_from_unpacked(inherited.__func__))
    try:
        yield
    finally:
        LocalModelStorage.from_model_archive = inherited


def _from_unpacked(extract: Any) -> Any:
    """`LocalModelStorage.from_model_archive` (Rasa 3.6: a storage over the archive's
    `components/` folder and the `ModelMetadata` of its `metadata.json`) made from the
    unpacked folder; `extract` (Rasa's own) when there is none, or the archive is not one
    this version of Rasa wrote (its own check then says why)."""
    def from_model_archive(cls: Any, storage_path: Path, model_archive_path: Any) -> Any:
        from rasa.engine.storage.local_model_storage import (MODEL_ARCHIVE_COMPONENTS_DIR,
                                                             MODEL_ARCHIVE_METADATA_FILE)
        from rasa.engine.storage.storage import ModelMetadata

        folder = unpack(Path(model_archive_path))
        if folder is None or (folder / "fingerprint.json").exists():     # a Rasa 2 archive
            return extract(cls, storage_path, model_archive_path)
        metadata = json.loads((folder / MODEL_ARCHIVE_METADATA_FILE).read_text(encoding="utf-8"))
        return cls(folder / MODEL_ARCHIVE_COMPONENTS_DIR), ModelMetadata.from_dict(metadata)
    return from_model_archive
