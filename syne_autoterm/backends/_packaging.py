"""Source-directory tarball and S3 helpers.

Why not the SageMaker SDK: it is a large dependency (and tries telemetry calls
on import); all it does for us is tar a directory and upload it. We build the
tarball deterministically (sorted entries, zeroed mtimes and owners) so the
same code always gives the same bytes and S3 key, and we refuse to silently
ship huge source dirs (a data folder next to the script is a common mistake).
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import logging
import os
import tarfile
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from ._clients import call_with_retries

logger = logging.getLogger(__name__)

SOURCEDIR_TARBALL = "sourcedir.tar.gz"

#: Never shipped: caches, VCS data, virtualenvs, notebooks' checkpoints.
DEFAULT_EXCLUDES = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".mypy_cache",
    ".pytest_cache",
    ".hypothesis",
    ".ipynb_checkpoints",
    ".DS_Store",
    "*.egg-info",
)
WARN_TARBALL_BYTES = 100 * 1024 * 1024

#: ``requirements.txt`` shipped with this package (to trials running a script
#: of the package, and to the remote tuner): its runtime dependencies.
DEFAULT_REQUIREMENTS = (
    "syne-tune==0.16.*",
    "numpy>=1.26",
    "scipy>=1.11",
    "scikit-learn>=1.3",
    "pandas>=2.0",
    "boto3>=1.34",
    "huggingface_hub>=0.20",
)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b/`` -> ``("bucket", "a/b")`` (no leading/trailing slash)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"expected an s3:// URI, got {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in S3 URI {uri!r}")
    return bucket, key.strip("/")


def s3_join(uri: str, *parts: str) -> str:
    """Join S3 URI parts with single slashes (no trailing slash)."""
    bucket, key = parse_s3_uri(uri)
    pieces = [p.strip("/") for p in (key, *parts) if p and p.strip("/")]
    return f"s3://{bucket}/" + "/".join(pieces)


def _excluded(rel_parts: Iterable[str], excludes: Iterable[str]) -> bool:
    pats = tuple(excludes)
    return any(fnmatch.fnmatch(part, pat) for part in rel_parts for pat in pats)


def _add_bytes(tar: tarfile.TarFile, arcname: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def collect_files(
    root: Path, arc_prefix: str = "", excludes: Iterable[str] = DEFAULT_EXCLUDES
) -> dict[str, Path]:
    """Map archive names to files below ``root`` (symlinks followed, excludes applied)."""
    root = Path(root)
    out: dict[str, Path] = {}
    if root.is_file():
        out[(Path(arc_prefix) / root.name).as_posix()] = root
        return out
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if not _excluded((d,), excludes))
        for fname in sorted(filenames):
            if _excluded((fname,), excludes):
                continue
            arc = (Path(arc_prefix) / rel_dir / fname).as_posix()
            out[arc] = Path(dirpath) / fname
    return out


def package_root() -> Path:
    """Folder of the installed ``syne_autoterm`` package."""
    import syne_autoterm

    return Path(next(iter(syne_autoterm.__path__))).resolve()


def dependency_files(
    dependencies: Iterable[str | Path], excludes: Iterable[str] = DEFAULT_EXCLUDES
) -> dict[str, Path]:
    """Files of extra folders/files shipped at the tarball root under their own name.

    Same meaning as the SageMaker SDK's ``dependencies``: ``/a/b/mylib`` is
    shipped as ``mylib/...`` next to the entry point, so ``import mylib`` works.
    """
    files: dict[str, Path] = {}
    for dep in dependencies:
        path = Path(dep).resolve()
        if not path.exists():
            raise FileNotFoundError(f"dependency {dep} does not exist")
        files.update(collect_files(path, path.name if path.is_dir() else "", excludes))
    return files


def requirements_bytes(requirements: Iterable[str]) -> bytes:
    return ("\n".join(str(r) for r in requirements) + "\n").encode()


def build_sourcedir_tarball(
    entry_point: str | Path | None,
    source_dir: str | Path | None = None,
    extra_files: Mapping[str, Path] | None = None,
    extra_bytes: Mapping[str, bytes] | None = None,
    excludes: Iterable[str] = DEFAULT_EXCLUDES,
    program: str | None = None,
) -> tuple[bytes, str]:
    """Pack the entry point (and its source dir) into ``sourcedir.tar.gz`` bytes.

    :param program: the entry point's path inside the tarball when it is
        shipped through ``extra_files``/``extra_bytes`` (then ``entry_point``
        and ``source_dir`` may be ``None``)
    :return: ``(tarball_bytes, program)`` where ``program`` is the entry point's
        path inside the tarball -- the value of ``sagemaker_program``.
    """
    files: dict[str, Path] = {}
    if source_dir is not None:
        src = Path(source_dir).resolve()
        if not src.is_dir():
            raise FileNotFoundError(f"source_dir {source_dir} is not a directory")
        files = collect_files(src, "", excludes)
        if program is None:
            entry = Path(str(entry_point))
            entry_abs = entry if entry.is_absolute() else (Path.cwd() / entry)
            if not entry_abs.exists() and (src / entry).exists():
                entry_abs = src / entry
            try:
                program = entry_abs.resolve().relative_to(src).as_posix()
            except ValueError:
                msg = f"entry point {entry_point} is not inside source_dir {source_dir}"
                raise ValueError(msg) from None
    elif program is None:
        entry = Path(str(entry_point))
        if not entry.is_file():
            raise FileNotFoundError(f"entry point {entry_point} does not exist")
        program = entry.name
        files = {program: entry}
    for arc, path in (extra_files or {}).items():
        files[arc] = Path(path)
    blobs = dict(extra_bytes or {})
    if program not in files and program not in blobs:
        raise FileNotFoundError(f"entry point {program} not found in the packed files")

    raw = io.BytesIO()
    # mtime=0 in the gzip header too, so identical content gives identical bytes.
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for arc in sorted(set(files) | set(blobs)):
            if arc in blobs:
                _add_bytes(tar, arc, blobs[arc])
            else:
                path = files[arc]
                mode = 0o755 if os.access(path, os.X_OK) else 0o644
                _add_bytes(tar, arc, path.read_bytes(), mode)
    data = raw.getvalue()
    if len(data) > WARN_TARBALL_BYTES:
        logger.warning(
            "sourcedir.tar.gz is %.0f MB; is a data folder inside source_dir? "
            "Put data on S3 and pass it as an input channel instead.",
            len(data) / 2**20,
        )
    return data, program


def content_digest(data: bytes, n: int = 12) -> str:
    return hashlib.sha256(data).hexdigest()[:n]


def upload_bytes(s3_client: Any, data: bytes, uri: str) -> str:
    """PUT ``data`` at ``uri`` (retrying transient errors); return ``uri``."""
    bucket, key = parse_s3_uri(uri)
    call_with_retries(
        lambda: s3_client.put_object(Bucket=bucket, Key=key, Body=data),
        what=f"upload {uri}",
    )
    return uri


def list_keys(s3_client: Any, uri: str) -> list[str]:
    """All object keys below the prefix ``uri`` (treated as a folder)."""
    bucket, prefix = parse_s3_uri(uri)
    prefix = f"{prefix}/" if prefix else ""
    keys: list[str] = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        resp = call_with_retries(lambda: s3_client.list_objects_v2(**kwargs), what=f"list {uri}")
        keys.extend(o["Key"] for o in resp.get("Contents", []))
        if not resp.get("IsTruncated"):
            return keys
        kwargs["ContinuationToken"] = resp["NextContinuationToken"]


def copy_prefix(s3_client: Any, src_uri: str, dst_uri: str) -> int:
    """Copy every object below ``src_uri`` to the same relative key below ``dst_uri``."""
    src_bucket, src_prefix = parse_s3_uri(src_uri)
    dst_bucket, dst_prefix = parse_s3_uri(dst_uri)
    n = 0
    for key in list_keys(s3_client, src_uri):
        rel = key[len(src_prefix) :].lstrip("/") if src_prefix else key
        target = f"{dst_prefix}/{rel}" if dst_prefix else rel
        call_with_retries(
            partial(
                s3_client.copy_object,
                Bucket=dst_bucket,
                Key=target,
                CopySource={"Bucket": src_bucket, "Key": key},
            ),
            what=f"copy s3://{src_bucket}/{key}",
        )
        n += 1
    return n


def delete_prefix(s3_client: Any, uri: str) -> int:
    """Delete every object below ``uri``; a missing prefix is fine."""
    bucket, _ = parse_s3_uri(uri)
    keys = list_keys(s3_client, uri)
    for i in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[i : i + 1000]]
        call_with_retries(
            partial(
                s3_client.delete_objects, Bucket=bucket, Delete={"Objects": batch, "Quiet": True}
            ),
            what=f"delete below {uri}",
        )
    return len(keys)


def download_prefix(s3_client: Any, uri: str, local_dir: str | Path) -> list[Path]:
    """Download every object below ``uri`` into ``local_dir`` keeping relative paths."""
    bucket, prefix = parse_s3_uri(uri)
    out: list[Path] = []
    root = Path(local_dir).resolve()
    for key in list_keys(s3_client, uri):
        rel = key[len(prefix) :].lstrip("/") if prefix else key
        target = (root / rel).resolve()
        if root not in target.parents:  # a key with ".." must not escape local_dir
            logger.warning("skipping S3 key outside the target folder: %s", key)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        resp = call_with_retries(
            partial(s3_client.get_object, Bucket=bucket, Key=key), what=f"download {key}"
        )
        target.write_bytes(resp["Body"].read())
        out.append(target)
    return out
