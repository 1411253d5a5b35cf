"""`rllib-safe submit` (cli.submit): its arguments, the runtime env it uploads, and an address where no Ray
dashboard answers: a short error, exit 2, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rllib_safe.cli import build_parser, main
from rllib_safe.cli.submit import TOKEN_HINT, job_runtime_env
from rllib_safe.cluster import ClusterUnreachable, check_reachable

COMMAND = ["--", "echo", "hello"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def http_server(status: int) -> Iterator[str]:
    """A local HTTP server answering every GET with ``status``; yields its address."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"not here")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers; yields its address."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_nothing_listening_is_a_short_error_naming_the_address():
    address = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "rllib_safe", "submit", "--address", address, *COMMAND],
                          capture_output=True, text=True, timeout=120)
    assert time.monotonic() - started < 60
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0] == f"rllib-safe submit: no Ray dashboard answers at {address} " \
                       "(connection refused: nothing listens there)."
    assert "http://HEAD:8265" in lines[1] and "RAY_API_SERVER_ADDRESS" in lines[1] and "cluster/README.md" in lines[1]


def test_a_port_that_never_answers_times_out_quickly():
    with silent_server() as address:
        started = time.monotonic()
        with pytest.raises(ClusterUnreachable, match=rf"at {address} \(no answer within 0.5 s\)"):
            check_reachable(address, timeout=0.5)
    assert time.monotonic() - started < 10


def test_another_http_server_is_not_taken_for_the_jobs_api(capsys):
    with http_server(404) as address:
        assert main(["submit", "--address", address, *COMMAND]) == 2
    err = capsys.readouterr().err
    assert f"no Ray dashboard answers at {address} (something answers, but not Ray's jobs API" in err


def test_a_malformed_address_is_a_usage_error(capsys):
    assert main(["submit", "--address", "http://head:dashboard", *COMMAND]) == 2
    assert "rllib-safe submit: the dashboard address 'http://head:dashboard' is invalid" in capsys.readouterr().err


def test_a_refused_token_keeps_its_hint(capsys):
    with http_server(401) as address:
        assert main(["submit", "--address", address, *COMMAND]) == 1
    err = capsys.readouterr().err
    assert "rllib-safe submit: the cluster refused the request." in err and TOKEN_HINT in err


def test_submit_parses_the_command_after_the_separator():
    command = ["rllib-safe", "sweep", "--smoke", "tune_configs/x.yaml"]
    args = build_parser().parse_args(["submit", "--address", "http://h:8265", "--follow", "--", *command])
    assert args.command == ["--", *command]
    assert args.address == "http://h:8265"
    assert args.follow and not args.no_wait
    with pytest.raises(SystemExit):
        build_parser().parse_args(["submit", "--follow", "--no-wait", "--", "true"])


def test_runtime_env_uploads_the_project_without_local_state(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    runtime_env = job_runtime_env(tmp_path)
    assert runtime_env["working_dir"] == str(tmp_path.resolve())
    assert {".venv", "runs", ".git"} <= set(runtime_env["excludes"])
    with pytest.raises(ValueError, match="--working-dir"):
        job_runtime_env(tmp_path / "elsewhere")
