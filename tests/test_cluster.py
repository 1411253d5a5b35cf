"""rllib_safe.cluster: token lookup, auth headers, dashboard addresses."""

from __future__ import annotations

import pytest

from rllib_safe.cluster import (
    auth_headers,
    dashboard_address,
    find_auth_token,
    job_dashboard_url,
)


@pytest.fixture
def home(tmp_path):
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-home\n")
    return tmp_path


def test_token_lookup_follows_rays_order(home, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("from-path\n")
    both = {"RAY_AUTH_TOKEN": "from-env", "RAY_AUTH_TOKEN_PATH": str(token_file)}
    assert find_auth_token(both, home) == "from-env"
    assert find_auth_token({"RAY_AUTH_TOKEN_PATH": str(token_file)}, home) == "from-path"
    assert find_auth_token({}, home) == "from-home"
    assert find_auth_token({}, tmp_path / "nowhere") is None


def test_unreadable_token_path_is_an_error_not_a_fallback(home):
    with pytest.raises(ValueError, match="RAY_AUTH_TOKEN_PATH"):
        find_auth_token({"RAY_AUTH_TOKEN_PATH": str(home / "missing")}, home)


def test_auth_headers_carry_a_bearer_token(home, tmp_path):
    assert auth_headers({}, home) == {"Authorization": "Bearer from-home"}
    assert auth_headers({}, tmp_path / "nowhere") == {}


def test_dashboard_address_defaults_to_localhost():
    assert dashboard_address(None, {}) == "http://127.0.0.1:8265"
    assert dashboard_address(None, {"RAY_API_SERVER_ADDRESS": "10.0.0.1:8265"}) == "http://10.0.0.1:8265"
    assert dashboard_address("https://ray.example/", {}) == "https://ray.example"
    assert job_dashboard_url("http://h:8265", "raysubmit_1") == "http://h:8265/#/jobs/raysubmit_1"
