"""SHA-256 digests sealed inside the checkpoint files keraslab writes, and their verification.

A digest kept in a separate file could be committed apart from the file it
describes (a kill between two renames leaves one stale); here it lives *inside*
the file, so the one ``os.replace`` that commits the file commits its digest:

- ``.weights.h5`` (HDF5): an 81-byte trailer after HDF5's end of file,
  ``KERASLAB-SHA256:<64 hex digits>\\n``, the digest of every byte before it.
  HDF5 ignores bytes after its end-of-file address, so Keras and h5py load the
  file as before.
- ``.keras`` (zip): the archive comment, ``keraslab-sha256:<64 hex digits>``,
  the digest of every byte of the archive before the comment (members, central
  directory and the fixed part of the end record). Zip readers ignore comments.

A file without a digest (written by plain Keras) is *unverified*, not refused.

Example::

    from keraslab import integrity
    integrity.seal("model.weights.h5")     # after writing, before committing
    integrity.verify("model.weights.h5")   # -> "verified"; CheckpointError if any bit changed
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

__all__ = ["seal", "verify", "H5_MAGIC", "ZIP_MAGIC"]

H5_MAGIC = b"KERASLAB-SHA256:"
ZIP_MAGIC = b"keraslab-sha256:"
_HEX = 64
_H5_TRAILER = len(H5_MAGIC) + _HEX + 1  # 81 bytes
_ZIP_COMMENT = len(ZIP_MAGIC) + _HEX  # 80 bytes
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class IntegrityError(ValueError):
    """Raised as :class:`keraslab.saving.CheckpointError` by the loaders (see :func:`verify`)."""


def _digest(path: Path, length: int) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        left = length
        while left > 0:
            block = f.read(min(1 << 20, left))
            if not block:
                break
            sha.update(block)
            left -= len(block)
    return sha.hexdigest()


def _kind(path: Path) -> str:
    name = path.name
    if name.endswith(".keras"):
        return "keras"
    if name.endswith(".h5"):
        return "h5"
    raise IntegrityError(f"{path}: only .keras and .h5 files carry a keraslab digest")


def seal(path: str | os.PathLike[str]) -> str:
    """Write the SHA-256 digest into the file itself; returns the digest (hex).

    Call it on the finished temporary file, before ``os.replace`` commits it
    (:func:`keraslab.saving.atomic_path` does). Sealing a sealed file replaces
    the old digest.

    Args:
        path: a complete ``.keras`` archive or HDF5 ``.h5`` file.

    Raises:
        IntegrityError: the file is not a complete archive / HDF5 file, so it
            must not be committed.
    """
    path = Path(path)
    if _kind(path) == "h5":
        with open(path, "rb") as f:
            head = f.read(8)
        if head != _HDF5_SIGNATURE:
            raise IntegrityError(f"{path}: not an HDF5 file; refusing to seal and commit it")
        size = path.stat().st_size
        if _read_h5_trailer(path, size) is not None:
            size -= _H5_TRAILER
            os.truncate(path, size)
        digest = _digest(path, size)
        with open(path, "ab") as f:
            f.write(H5_MAGIC + digest.encode() + b"\n")
        return digest
    try:
        with zipfile.ZipFile(path, "a") as archive:
            archive.comment = ZIP_MAGIC + b"0" * _HEX
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise IntegrityError(f"{path}: not a complete zip archive ({exc}); refusing to seal and commit it") from None
    size = path.stat().st_size
    digest = _digest(path, size - _ZIP_COMMENT - 2)
    with open(path, "r+b") as f:
        f.seek(size - _HEX)
        f.write(digest.encode())
    return digest


def _read_h5_trailer(path: Path, size: int) -> bytes | None:
    if size < _H5_TRAILER + 8:
        return None
    with open(path, "rb") as f:
        f.seek(size - _H5_TRAILER)
        tail = f.read(_H5_TRAILER)
    if tail.startswith(H5_MAGIC):
        return tail
    # A damaged trailer (a flipped or cut magic) must not pass as "no digest".
    near = sum(a == b for a, b in zip(tail[: len(H5_MAGIC)], H5_MAGIC, strict=True))
    with open(path, "rb") as f:
        f.seek(max(0, size - 4 * _H5_TRAILER))
        window = f.read()
    if near >= len(H5_MAGIC) // 2 or H5_MAGIC[:8] in window:
        raise IntegrityError(
            f"{path}: its keraslab digest trailer is damaged or cut short; the file is corrupt or truncated. "
            "Use an earlier checkpoint."
        )
    return None


def verify(path: str | os.PathLike[str]) -> str:
    """Check the digest sealed in ``path``.

    Args:
        path: a ``.keras`` or ``.h5`` file.

    Returns:
        ``"verified"`` when the digest matches, ``"unverified"`` when the file
        carries none (written by plain Keras).

    Raises:
        IntegrityError: the digest does not match (a changed bit, a cut file)
            or is damaged; the message names the file.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.h5"
    >>> _ = p.write_bytes(b"\\x89HDF\\r\\n\\x1a\\n" + bytes(100))
    >>> len(seal(p)), verify(p)
    (64, 'verified')
    """
    path = Path(path)
    size = path.stat().st_size
    if _kind(path) == "h5":
        tail = _read_h5_trailer(path, size)
        if tail is None:
            return "unverified"
        stored, covered = tail[len(H5_MAGIC) : len(H5_MAGIC) + _HEX], size - _H5_TRAILER
        if tail[-1:] != b"\n":
            raise IntegrityError(f"{path}: its keraslab digest trailer is damaged; the file is corrupt")
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                comment = archive.comment
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise IntegrityError(f"{path}: corrupt .keras archive ({exc}). Use an earlier checkpoint.") from None
        if not comment:
            return "unverified"
        if len(comment) != _ZIP_COMMENT or not comment.startswith(ZIP_MAGIC):
            raise IntegrityError(f"{path}: its keraslab digest (the archive comment) is damaged; the file is corrupt")
        stored, covered = comment[len(ZIP_MAGIC) :], size - _ZIP_COMMENT - 2
    actual = _digest(path, covered)
    if stored.decode("ascii", "replace") != actual:
        raise IntegrityError(
            f"{path}: SHA-256 does not match the digest keraslab sealed in it when it was saved: the file changed "
            "on disk (a flipped bit, a bad copy, a damaged disk). Use an earlier checkpoint or save it again."
        )
    return "verified"
