"""The newest checkpoint that restores: a broken one (truncated, corrupted) is named and the one before it tried.

``rllib-safe evaluate`` restores a policy through :func:`restore_newest`; ``train --resume``
restores the algorithm the same way (``service.restore_latest``), with the same messages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rllib_safe.runs.run_dir import RunDirError

Restored = TypeVar("Restored")


def failure_reason(error: Exception) -> str:
    """``ErrorType: first line of its message`` (200 characters at most), for one line of output."""
    message = str(error).strip()
    return f"{type(error).__name__}: {message.splitlines()[0][:200]}" if message else type(error).__name__


def restore_newest(
    checkpoints: list[Path], restore: Callable[[Path], Restored], echo: Callable[[str], None]
) -> tuple[Path, Restored]:
    """The first of ``checkpoints`` (newest first) that ``restore`` loads, and what it returned.

    Each one that fails is named through ``echo`` with the one tried next; RunDirError naming the
    last one when none restores (a single checkpoint given by path is restored or refused).
    """
    for position, checkpoint in enumerate(checkpoints):
        try:
            return checkpoint, restore(checkpoint)
        except Exception as err:  # a truncated or corrupted checkpoint fails in many ways
            reason = failure_reason(err)
            if position + 1 == len(checkpoints):
                raise RunDirError(f"checkpoint {str(checkpoint)!r} cannot be restored ({reason})") from err
            echo(f"Checkpoint {checkpoint} cannot be restored ({reason}); using {checkpoints[position + 1]}")
    raise ValueError("no checkpoint to restore")
