"""Talking to a Ray cluster: the auth token, the dashboard and jobs API address, job pages.

Where the parts of a run go on a cluster (``Placement``) is part of building its config:
``rllib_safe.runs.config``.

Token authentication (docs/rllib-notes.md, trap 5): the dashboard's REST API answers 401 until the
client sends the cluster's token. :func:`find_auth_token` looks where Ray itself looks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: Where ``ray start --head`` serves the dashboard (and the jobs API) by default.
DEFAULT_DASHBOARD_ADDRESS = "http://127.0.0.1:8265"


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
