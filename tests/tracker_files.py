"""Reading back what the trackers wrote: MLflow through its client, W&B's offline run files by hand.

W&B has no reader for offline runs in its Python package (its core, which writes them, is a Go
binary), so :func:`wandb_offline_history` reads the file's framing itself: a 7-byte header, then
LevelDB-log records in 32 KiB blocks (7-byte chunk headers: CRC, length, type), each record a
``wandb_internal_pb2.Record`` protobuf.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

BLOCK_BYTES = 32768
HEADER_BYTES = 7
FULL, LAST = 1, 4


def _wandb_records(path: Path) -> Iterator[object]:
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    position, chunks = HEADER_BYTES, []
    while position + HEADER_BYTES <= len(data):
        left_in_block = BLOCK_BYTES - position % BLOCK_BYTES
        _, length, kind = struct.unpack("<IHB", data[position:position + HEADER_BYTES])
        if left_in_block < HEADER_BYTES or (length == 0 and kind == 0):  # block padding
            position += left_in_block
            continue
        chunks.append(data[position + HEADER_BYTES:position + HEADER_BYTES + length])
        position += HEADER_BYTES + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b"".join(chunks))
            chunks = []
            yield record


def wandb_offline_runs(directory: Path) -> list[Path]:
    """The ``run-*.wandb`` files of the offline runs under ``directory/wandb``."""
    return sorted(Path(directory).glob("wandb/offline-run-*/run-*.wandb"))


def wandb_offline_history(run_file: Path) -> list[dict]:
    """The rows ``wandb.log`` wrote to an offline run, values decoded from JSON."""
    return [
        {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
        for record in _wandb_records(run_file)
        if record.WhichOneof("record_type") == "history"
    ]


def mlflow_runs(tracking_uri: str, experiment: str) -> list:
    """The MLflow runs of ``experiment`` (MLflow's own client)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id]) if found else []


def mlflow_metric(tracking_uri: str, run_id: str, key: str) -> list[tuple[int, float]]:
    """(step, value) of a metric's history."""
    from mlflow.tracking import MlflowClient

    return [(m.step, m.value) for m in MlflowClient(tracking_uri).get_metric_history(run_id, key)]


def mlflow_artifacts(tracking_uri: str, run_id: str) -> list[str]:
    from mlflow.tracking import MlflowClient

    return [artifact.path for artifact in MlflowClient(tracking_uri).list_artifacts(run_id)]
