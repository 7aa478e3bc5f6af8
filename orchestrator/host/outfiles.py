"""Writing the files a conversion made (import, export) into a directory: all or nothing, and
never over a file that holds something else."""

from __future__ import annotations

import os

from orchestrator.errors import ConflictError, UsageError
from orchestrator.host import statefiles


def write_new_files(directory: str, files: dict[str, str]) -> list[str]:
    """Write each name -> text into directory (created); a file there already is left alone when
    it holds that text, and refused (nothing written) when it holds anything else."""
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror}") from None
    written, clashes = [], []
    for name, text in files.items():
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8") as existing:
                if existing.read() != text:
                    clashes.append(name)
        except FileNotFoundError:
            written.append(name)
        except (OSError, UnicodeDecodeError):
            clashes.append(name)
    if clashes:
        raise ConflictError(
            f"{directory} already holds other files named {', '.join(sorted(clashes))}; "
            "nothing was written (choose another --out, or remove them)"
        )
    try:
        for name in written:
            statefiles.replace(os.path.join(directory, name), files[name].encode(), 0o644,
                               durable=False)  # fmt: skip
    except OSError as exc:
        raise UsageError(f"cannot write into {directory}: {exc.strerror}") from None
    return written
