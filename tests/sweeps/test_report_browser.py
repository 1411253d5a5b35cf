"""The sweep report opens in a real browser: every <img> of ``index.html`` loads in headless Chromium.

Out of the default run (``-m "not browser"`` in pyproject's addopts). Run it with
``make test-browser`` (installs Debian's chromium and runs ``pytest -m browser``), or
``.venv/bin/pytest -m browser tests/sweeps/test_report_browser.py`` where chromium is installed;
set ``CHROMIUM`` to use another binary. Skipped when no chromium is found.

The report is built from a synthetic run directory (a PCRPO sweep over two axes, so every figure
is drawn: learning curves, reward vs cost, heatmaps and update modes). Chromium is driven over
its DevTools protocol on a pipe (``--remote-debugging-pipe``): standard library only, no driver.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rllib_safe.sweeps.report import write_report
from rllib_safe.sweeps.runner import save_spec
from rllib_safe.sweeps.spec import SweepSpec

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# As root on a closed network: no sandbox, no GPU, nothing that phones home (it stalls without these).
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_S = 60.0

# Every <img> once the page has loaded: its src as written, whether it finished and its decoded width.
IMAGES_JS = """Array.from(document.images, img => ({
    src: img.getAttribute('src'), complete: img.complete, naturalWidth: img.naturalWidth}))"""


class Chromium:
    """Headless Chromium driven over the DevTools protocol on fds 3 (commands in) and 4 (replies out)."""

    def __init__(self, binary: str, user_data_dir: Path):
        to_chrome, self._write = os.pipe()
        self._read, from_chrome = os.pipe()

        def pipes_on_3_and_4():
            os.dup2(to_chrome, 3)
            os.dup2(from_chrome, 4)

        self.process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            pass_fds=(3, 4), preexec_fn=pipes_on_3_and_4, start_new_session=True,
        )
        os.close(to_chrome)
        os.close(from_chrome)
        self._next_id, self._buffer = 0, b""

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if not select.select([self._read], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError(f"chromium exited: {self.process.poll()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """Sends one command and returns its result (events that arrive before it are dropped)."""
        self._next_id += 1
        command = {"id": self._next_id, "method": method, "params": params}
        if session:
            command["sessionId"] = session
        os.write(self._write, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            message = self._message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def images_of(self, url: str) -> list[dict]:
        """Opens ``url`` in a new tab, waits for its load event (images included) and lists its images."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        try:
            self.send("Page.enable", session)
            navigation = self.send("Page.navigate", session, url=url)
            assert "errorText" not in navigation, f"{url}: {navigation['errorText']}"
            deadline = time.monotonic() + TIMEOUT_S
            while self._message(deadline).get("method") != "Page.loadEventFired":
                pass
            result = self.send("Runtime.evaluate", session, expression=IMAGES_JS, returnByValue=True)
            assert "exceptionDetails" not in result, result
            return result["result"]["value"]
        finally:
            self.send("Target.closeTarget", targetId=target)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: chromium and its helpers
            self.process.wait()
        os.close(self._write)
        os.close(self._read)
        self.process.stderr.close()


def _results(seed: int, cost_limit: float, slack: float, iterations: int = 4) -> list[dict]:
    """Tune-like result.json lines of one PCRPO trial; returns and costs depend on the config."""
    rows = []
    for i in range(1, iterations + 1):
        rows.append({
            "training_iteration": i,
            "num_env_steps_sampled_lifetime": 400 * i,
            "env_runners": {"episode_return_mean": 10.0 * i + slack + seed, "episode_cost_mean": cost_limit + 4 - i},
            "learners": {"default_policy": {
                "mode_reward": 2 + seed, "mode_soft_aligned": 1, "mode_soft_conflict": i % 2, "mode_cost": 1}},
            "done": i == iterations,
        })
    return rows


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """A report (index.html and its four PNGs) of a synthetic 2 x 2 x 2-seed PCRPO run directory."""
    run_dir = tmp_path_factory.mktemp("sweep") / "browser"
    spec = SweepSpec(
        name="browser", algorithm="pcrpo", env="BudgetEnv", budget={"iterations": 4}, seeds=[0, 1],
        search_space={"cost_limit": {"grid": [5.0, 10.0]}, "slack_upper": {"grid": [0.0, 9.0]}},
        final_iterations=2, storage_path=str(run_dir.parent),
    )
    save_spec(spec, run_dir)
    for cost_limit in (5.0, 10.0):
        for slack in (0.0, 9.0):
            for seed in (0, 1):
                trial = run_dir / "pcrpo" / f"trial_{cost_limit:g}_{slack:g}_{seed}"
                trial.mkdir(parents=True)
                config = {"cost_limit": cost_limit, "slack_upper": slack, "seed": seed}
                (trial / "params.json").write_text(json.dumps(config))
                lines = _results(seed, cost_limit, slack)
                (trial / "result.json").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return write_report(run_dir)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (`apt-get install chromium`, or `make test-browser`; "
                    "or set CHROMIUM to a Chromium/Chrome binary)")
    browser = Chromium(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


def _broken(images: list[dict]) -> list[str]:
    return [image["src"] for image in images if not (image["complete"] and image["naturalWidth"] > 0)]


def test_every_report_image_loads_in_chromium(chromium, report):
    index = report / "index.html"
    written = re.findall(r"<img src='([^']+)'>", index.read_text())
    assert len(written) == 4, written  # learning curves, reward vs cost, heatmaps, PCRPO update modes
    images = chromium.images_of(index.as_uri())
    assert [image["src"] for image in images] == written, "the browser does not see the report's <img> tags"
    assert not _broken(images), f"images that did not load in {index}: {_broken(images)}"


def test_the_check_sees_a_missing_image(chromium, report, tmp_path):
    """The same check on a copy of the report without one PNG names that image."""
    copy = Path(shutil.copytree(report, tmp_path / "report"))
    (copy / "heatmaps.png").unlink()
    assert _broken(chromium.images_of((copy / "index.html").as_uri())) == ["heatmaps.png"]
