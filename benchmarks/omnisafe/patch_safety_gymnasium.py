"""Makes safety-gymnasium 1.0.0 importable on Python 3.11, in the installed package on disk.

Python 3.11 rejects numpy arrays as dataclass defaults (they are unhashable, so "mutable"):
``color: np.array = COLOR['vase']`` becomes ``color: np.array = field(default_factory=lambda: COLOR['vase'])``,
and ``field`` joins the ``dataclasses`` import where it is missing. Idempotent. Run it with the
OmniSafe venv's python: it patches the safety_gymnasium that this interpreter would import.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

ARRAY_DEFAULT = re.compile(r"^(?P<head>[ \t]+\w+: np\.array = )(?P<value>COLOR\[[^\]]+\])[ \t]*$", re.MULTILINE)
DATACLASS_IMPORT = re.compile(r"^from dataclasses import dataclass[ \t]*$", re.MULTILINE)


def patch_source(text: str) -> str:
    """The module text with array defaults wrapped in ``field(default_factory=...)``."""
    patched = ARRAY_DEFAULT.sub(r"\g<head>field(default_factory=lambda: \g<value>)", text)
    if patched != text:
        patched = DATACLASS_IMPORT.sub("from dataclasses import dataclass, field", patched)
    return patched


def package_dir(name: str = "safety_gymnasium") -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{name} is not installed for {sys.executable}")
    return Path(spec.origin).parent


def main() -> None:
    changed = []
    for path in sorted(package_dir().rglob("*.py")):
        text = path.read_text()
        patched = patch_source(text)
        if patched != text:
            path.write_text(patched)
            changed.append(path.name)
    print(f"patched {len(changed)} safety_gymnasium modules: {' '.join(changed) or '(already patched)'}")


if __name__ == "__main__":
    main()
