"""The benchmarks' shared frame (benchmarks/record.py): provenance on every line, the writer, the package form."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from benchmarks import record

BENCHMARKS = Path(record.__file__).parent
#: Every benchmark module of the package (benchmarks/omnisafe/ runs in OmniSafe's own venv).
MODULES = sorted(path.stem for path in BENCHMARKS.glob("*.py") if path.stem != "__init__")


def test_provenance_names_revision_time_machine_threads_versions_and_command():
    provenance = record.provenance()
    head = subprocess.run(["git", "-C", str(record.REPO), "rev-parse", "--short=12", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert provenance["git"]["revision"] == head and isinstance(provenance["git"]["dirty"], bool)
    recorded = datetime.fromisoformat(provenance["recorded_at"])
    assert recorded.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - recorded) < timedelta(minutes=1)
    assert datetime.fromisoformat(provenance["started_at"]) <= recorded
    assert set(provenance["machine"]) == {"hostname", "cpus", "cpus_usable", "platform", "load_1m"}
    assert provenance["machine"]["cpus"] >= 1
    assert isinstance(provenance["torch_threads"], int)
    assert {"python", "ray", "torch", "mujoco", "gymnasium", "rllib-safe"} <= set(provenance["versions"])
    assert provenance["versions"]["rllib-safe"] and provenance["versions"]["ray"]
    assert provenance["command"].startswith("python ")


def test_emit_prints_and_appends_the_row_with_its_provenance(tmp_path, capsys):
    out = tmp_path / "results" / "bench.jsonl"
    record.emit({"steps_per_s": 1.5}, out)
    record.emit({"steps_per_s": 2.5, "provenance": "stale"}, out)
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert printed == written
    assert [row["steps_per_s"] for row in written] == [1.5, 2.5]
    assert all(row["provenance"]["git"]["revision"] for row in written)  # the writer's, not the row's own


def test_the_command_line_names_the_module_run_with_dash_m(monkeypatch):
    main = type(sys)("__main__")
    main.__spec__ = importlib.util.find_spec("benchmarks.throughput")
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert record.command_line(["/repo/benchmarks/throughput.py", "--settings", "2x8", "--envs", "A B"]) == (
        "python -m benchmarks.throughput --settings 2x8 --envs 'A B'")
    main.__spec__ = None  # a script path or python -c
    assert record.command_line(["benchmarks/x.py", "--steps", "5"]) == "python benchmarks/x.py --steps 5"


def test_settings_parse_as_runners_x_envs():
    assert record.parse_setting("2x8") == (2, 8)
    assert record.parse_setting("0x1") == (0, 1)
    for text in ("2", "2x0", "x8", "ax8"):
        with pytest.raises(argparse.ArgumentTypeError, match="RUNNERSxENVS"):
            record.parse_setting(text)


@pytest.mark.parametrize("name", MODULES)
def test_every_benchmark_is_a_module_of_the_package_without_path_edits(name):
    source = (BENCHMARKS / f"{name}.py").read_text()
    assert "sys.path" not in source
    assert "python benchmarks/" not in source  # commands are written `python -m benchmarks.NAME`
    importlib.import_module(f"benchmarks.{name}")


@pytest.mark.slow
def test_a_benchmark_run_as_a_module_writes_lines_with_its_provenance(tmp_path):
    out = tmp_path / "sgd.jsonl"
    argv = [sys.executable, "-m", "benchmarks.sgd_step", "--impls", "eager", "--minibatch-sizes", "8",
            "--steps", "2", "--repeats", "1", "--out", str(out)]
    printed = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=record.REPO).stdout
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert json.loads(printed.splitlines()[-1]) == row
    assert (row["impl"], row["minibatch_size"], row["threads"]) == ("eager", 8, 1)
    assert row["provenance"]["torch_threads"] == 1
    assert row["provenance"]["command"] == "python -m benchmarks.sgd_step " + " ".join(argv[3:])
