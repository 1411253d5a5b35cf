"""Talking to a Ray cluster: the auth token, the dashboard and jobs API address, job pages.

Where the parts of a run go on a cluster (``Placement``) is part of building its config:
``rllib_safe.runs.config``.

Token authentication (docs/rllib-notes.md, trap 5): the dashboard's REST API answers 401 until the
client sends the cluster's token. :func:`find_auth_token` looks where Ray itself looks.
"""

from __future__ import annotations

import http.client
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

#: Where ``ray start --head`` serves the dashboard (and the jobs API) by default.
DEFAULT_DASHBOARD_ADDRESS = "http://127.0.0.1:8265"
#: Seconds the dashboard address gets to accept a connection (Ray's client itself never gives up).
CONNECT_TIMEOUT_S = 10.0
UNREACHABLE_HINT = (
    "Check the address: the head node's dashboard, e.g. --address http://HEAD:8265 (or RAY_API_SERVER_ADDRESS; "
    "not the RAY_ADDRESS port 6379), with the cluster up and a tunnel open where one is needed (cluster/README.md)."
)


class ClusterUnreachable(ConnectionError):
    """Nothing answers at the dashboard address; the message names it, the cause and what to check."""

    @classmethod
    def at(cls, address: str, reason: str) -> ClusterUnreachable:
        return cls(f"no Ray dashboard answers at {address} ({reason}).\n{UNREACHABLE_HINT}")


def find_auth_token(environ: Mapping[str, str] | None = None, home: Path | None = None) -> str | None:
    """The cluster token, looked up in Ray's order; None when there is none.

    1. ``RAY_AUTH_TOKEN``; 2. the file named by ``RAY_AUTH_TOKEN_PATH`` (an error when it
    cannot be read or is empty, as in Ray); 3. ``~/.ray/auth_token``.
    """
    environ = os.environ if environ is None else environ
    token = environ.get("RAY_AUTH_TOKEN", "").strip()
    if token:
        return token
    token_path = environ.get("RAY_AUTH_TOKEN_PATH")
    if token_path:
        path = Path(token_path).expanduser()
        token = path.read_text().strip() if path.is_file() else ""
        if not token:
            raise ValueError(
                f"`RAY_AUTH_TOKEN_PATH` = {token_path!r} is invalid: it must name a readable, "
                "non-empty file holding the cluster's token."
            )
        return token
    default_path = (Path.home() if home is None else home) / ".ray" / "auth_token"
    token = default_path.read_text().strip() if default_path.is_file() else ""
    return token or None


def auth_headers(environ: Mapping[str, str] | None = None, home: Path | None = None) -> dict[str, str]:
    """HTTP headers that authenticate to the dashboard / jobs API (empty without a token)."""
    token = find_auth_token(environ, home)
    return {"Authorization": f"Bearer {token}"} if token else {}


def dashboard_address(address: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The jobs API address: ``address``, else ``RAY_API_SERVER_ADDRESS``, else localhost:8265."""
    environ = os.environ if environ is None else environ
    address = address or environ.get("RAY_API_SERVER_ADDRESS") or DEFAULT_DASHBOARD_ADDRESS
    if "://" not in address:
        address = f"http://{address}"
    return address.rstrip("/")


def job_dashboard_url(address: str, job_id: str) -> str:
    """The dashboard page of one job."""
    return f"{dashboard_address(address)}/#/jobs/{job_id}"



def describe_failure(reason: BaseException | str, timeout: float) -> str:
    """A few words on why a request got no answer: refused, timed out, unknown host..."""
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused: nothing listens there"
    if isinstance(reason, socket.gaierror):
        return f"unknown host: {reason.strerror}"
    if isinstance(reason, OSError):
        return reason.strerror or str(reason)
    return str(reason)


def request_failure(address: str, headers: Mapping[str, str], timeout: float) -> str | None:
    """Why ``address``'s jobs API does not answer within ``timeout`` seconds; None when it answers,
    whatever the answer (a 401 without the token is for Ray's client to explain)."""
    request = urllib.request.Request(f"{address}/api/version", headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None
    except urllib.error.URLError as err:
        return describe_failure(err.reason, timeout)
    except OSError as err:  # timed out or cut off while reading the answer
        return describe_failure(err, timeout)
    except http.client.InvalidURL as err:
        raise ValueError(str(err)) from None
    except http.client.HTTPException:
        return "something answers, but not over HTTP: the GCS port (6379) instead of the dashboard's?"


def check_reachable(address: str, headers: Mapping[str, str] | None = None, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raises ClusterUnreachable unless the dashboard ``address`` answers within ``timeout`` seconds
    (Ray's client would wait without limit); ValueError when ``address`` is malformed."""
    try:
        failure = request_failure(address, headers or {}, timeout)
    except ValueError as err:
        raise ValueError(f"the dashboard address {address!r} is invalid: {err}") from None
    if failure is not None:
        raise ClusterUnreachable.at(address, failure)
