"""rllib_safe.core is pure torch: importing it must not import Ray."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import rllib_safe.core

CORE = pathlib.Path(rllib_safe.core.__file__).parent


def test_core_sources_do_not_import_ray():
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "ray" or n.startswith("ray.") for n in names), path.name


def test_importing_core_does_not_load_ray():
    code = (
        "import sys, rllib_safe.core; "
        "print(any(m == 'ray' or m.startswith('ray.') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=CORE.parents[1],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "False"
