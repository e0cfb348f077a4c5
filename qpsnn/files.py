"""Reading a user's JSON with one clear message, and writing a file in one step."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from qpsnn.errors import InputError


def read_json(path: str, flag: str, what: str):
    """The JSON at `path`, or InputError naming `flag` and `what` is expected there."""
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise InputError(f"{flag}: {path} does not exist; give {what}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{flag}: {path} is not readable JSON ({exc}); give {what}") from None


def write_atomic(path: str, text: str) -> None:
    """Write `text` beside `path`, then rename it over `path`: a reader never sees half a file."""
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_npz(path: str, arrays: dict) -> None:
    """np.savez beside `path`, then renamed over it: whole or not at all."""
    import numpy as np
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def replace_dir(new: str, target: str) -> None:
    """`new` takes the place of `target` by renames (the old one moved aside, then removed):
    a reader sees the old directory or the new one, never a mixture."""
    old = None
    if os.path.exists(target):
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.old-", dir=os.path.dirname(target))
        os.rename(target, os.path.join(old, "previous"))
    os.rename(new, target)
    if old:
        shutil.rmtree(old, ignore_errors=True)
