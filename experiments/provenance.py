"""What produced a results file: config, seeds, versions, git commit, time; and atomic writes.

Every table is written to a temporary name and renamed into place, so a killed
process never leaves a half-written file under a final name.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import tempfile
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from collective_impact import model

PROVENANCE_KEY = b"collective_impact"
_PACKAGES = ("collective-impact", "mesa", "numpy", "pandas", "pyarrow", "SALib", "joblib")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def source_root() -> Path:
    """The folder holding the package's folders: the checkout, or site-packages' package."""
    return Path(model.__file__).resolve().parent.parent


def git_commit() -> str | None:
    """The commit of this project's checkout the package runs from, or for an installed
    wheel the commit it was built from (``BUILD_COMMIT``, written by setup.py); None if
    neither is known. The checkout must be this project's own, not whatever repository the
    folder lies in."""
    root = source_root()
    if not (root / "pyproject.toml").is_file() or not (root / "model").is_dir():
        return built_commit()
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root,
                             capture_output=True, text=True, timeout=5, check=True)
        if Path(top.stdout.strip()).resolve() != root:
            return None
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def built_commit() -> str | None:
    """The commit an installed wheel was built from, if its build could tell."""
    try:
        text = (resources.files("collective_impact") / "BUILD_COMMIT").read_text().strip()
    except OSError:
        return None
    return text or None


def model_fingerprint() -> str:
    """A hash of the model's source: results of two versions of the model are never mixed."""
    digest = hashlib.sha256()
    for path in sorted(Path(model.__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def manifest(**fields) -> dict:
    """A manifest: the given fields plus versions, git commit, model fingerprint and the time
    it was written."""
    return {
        **fields,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "model_fingerprint": model_fingerprint(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _file_mode() -> int:
    """What a newly created file gets under the process's umask (e.g. 0o644 or 0o664), so
    collaborators on a shared results folder can read results; mkstemp alone gives 0o600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: dict) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, default=str) + "\n").encode())


def write_table(df: pd.DataFrame, path: Path, provenance: dict) -> None:
    """Write a DataFrame as Parquet, atomically, with ``provenance`` in the file's metadata."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[PROVENANCE_KEY] = json.dumps(provenance, default=str).encode()
    table = table.replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def read_provenance(path: Path) -> dict:
    """The provenance stored in a Parquet file written by ``write_table``."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[PROVENANCE_KEY]) if PROVENANCE_KEY in meta else {}
