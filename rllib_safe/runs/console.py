"""What a run prints: our progress lines and real warnings; Ray's and RLlib's chatter with ``--verbose``.

Ray 2.60 / RLlib print these on every run; none is actionable for an rllib-safe user:

===========================================  ==========================================  ===========
line                                         origin                                      handled by
===========================================  ==========================================  ===========
``INFO worker.py -- Started a local Ray``    logger ``ray._private.worker`` (driver)     level
``INFO trainable.py -- Trainable.setup       logger ``ray.tune.trainable.trainable``     level
took ...``                                   (driver, or the Tune trial actor)
``WARNING ... Token authentication is        logger ``ray._private.authentication.        filter
enabled for this Ray cluster``               authentication_token_setup`` (driver,
                                             local start; auth stays on)
``You are running PCRPO on the new API       logger ``ray.rllib.algorithms.              filter
stack!``                                     algorithm_config`` (``config.validate()``)
``DeprecationWarning: `RLModule(config=      logger ``ray._common.deprecation``: every   filter
[RLModuleConfig object])` ...``              ``RLModule.__init__`` builds a deprecated
                                             ``RLModuleConfig`` itself, whatever the
                                             caller passes (driver's Learner, every
                                             EnvRunner and Learner actor)
``Install gputil for GPU system              logger ``ray.tune.utils.util``             filter
monitoring.``                                (``Trainable``'s ``UtilMonitor``)
``NaN or Inf found in input tensor.``        logger ``tensorboardX.x2num``: Tune's       filter
                                             TensorBoard logger writing a config with
                                             ``inf`` entries as hparams (a sweep's
                                             slack ``inf``, RLlib's ``vf_clip_param``)
``Checkpoint successfully created at: ...``  logger ``ray.train._internal.storage``       filter
                                             (every Tune trial actor, each checkpoint)
``[... E ...] core_worker.cc:NNNN: Actor     Ray's C++ core worker in the driver; its    stderr
with class name: 'SingleAgentEnvRunner'      error sink writes straight to fd 2. RLlib   filter
... has constructor arguments in the         passes the config to its EnvRunner actors
object store and max_restarts > 0 ...``      as an ObjectRef and lets Ray restart them
===========================================  ==========================================  ===========

- *level*: ``ray.init(logging_level=WARNING)`` (:func:`ray_init_kwargs`).
- *filter*: a :class:`logging.Filter` on the emitting logger, dropping only the named message, in
  the driver (:func:`quiet_console`) and in every Ray worker of the job (the
  ``worker_process_setup_hook`` in :func:`ray_init_kwargs` runs :func:`quiet_worker`).
- *stderr filter*: the driver's fd 2 goes through a small child process that drops lines matching
  :data:`QUIET_STDERR_LINES` and passes everything else on unchanged (it outlives a crash of the
  driver, so a fatal error's last lines still arrive).

Worker output still reaches the console (``log_to_driver`` stays on): their errors, tracebacks
and any other warning show as before. ``RAY_BACKEND_LOG_LEVEL=fatal`` would also hide the
core_worker line, but it prints a line of its own ("Set ray log level from environment
variable ...") and silences the C++ error logs of raylet, GCS and workers in their log files;
``GLOG_minloglevel`` has no effect (Ray logs with spdlog).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

#: (logger, message fragment) of the log records left out of the console.
QUIET_RECORDS: tuple[tuple[str, str], ...] = (
    ("ray._common.deprecation", "`RLModule(config=[RLModuleConfig object])` has been deprecated"),
    ("ray.rllib.algorithms.algorithm_config", "on the new API stack! This is the new default behavior"),
    ("ray.tune.utils.util", "Install gputil for GPU system monitoring"),
    ("ray._private.authentication.authentication_token_setup",
     "Token authentication is enabled for this Ray cluster"),
    ("tensorboardX.x2num", "NaN or Inf found in input tensor"),
    ("ray.train._internal.storage", "Checkpoint successfully created at"),
)

#: Regular expressions of the driver's stderr lines left out of the console (Ray's C++ logs).
QUIET_STDERR_LINES: tuple[str, ...] = (
    r"core_worker\.cc:\d+: Actor with class name: .* has constructor arguments in the object store "
    r"and max_restarts > 0",
)

#: Ray's ``runtime_env`` entry that runs :func:`quiet_worker` as each worker process starts.
WORKER_SETUP_HOOK = f"{__name__}.quiet_worker"


class _DropMessages(logging.Filter):
    """Drops records whose message contains one of ``fragments``."""

    def __init__(self, fragments: tuple[str, ...]) -> None:
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(fragment in message for fragment in self.fragments)


def install_log_filters() -> None:
    """Adds the :data:`QUIET_RECORDS` filters to their loggers in this process (idempotent)."""
    by_logger: dict[str, list[str]] = {}
    for name, fragment in QUIET_RECORDS:
        by_logger.setdefault(name, []).append(fragment)
    for name, fragments in by_logger.items():
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, _DropMessages)]:
            logger.removeFilter(old)
        logger.addFilter(_DropMessages(tuple(fragments)))


def quiet_worker() -> None:
    """Ray ``worker_process_setup_hook``: the same log filters in each worker process."""
    install_log_filters()


def ray_init_kwargs(verbose: bool) -> dict:
    """Extra ``ray.init`` keyword arguments: Ray's INFO lines off and quiet workers, unless verbose.

    Worker logs still go to the driver (errors and tracebacks included). If the caller passes a
    ``runtime_env`` of its own, merge this one's ``worker_process_setup_hook`` into it.
    """
    if verbose:
        return {}
    return {
        "logging_level": logging.WARNING,
        "runtime_env": {"worker_process_setup_hook": WORKER_SETUP_HOOK},
    }


_stderr_filter: contextlib.ExitStack | None = None


def quiet_console(verbose: bool) -> None:
    """From now on, the driver's console leaves out the lines the module docstring lists.

    A no-op with ``verbose``; idempotent. Call it before ``ray.init`` (the token-auth line is
    logged there) and pass :func:`ray_init_kwargs` to ``ray.init`` for the workers. The stderr
    filter is removed at exit (:func:`restore_console` undoes it earlier).
    """
    global _stderr_filter  # noqa: PLW0603 - one filter per process
    if verbose:
        return
    install_log_filters()
    if _stderr_filter is None:
        _stderr_filter = contextlib.ExitStack()
        _stderr_filter.enter_context(filtered_stderr(QUIET_STDERR_LINES))
        atexit.register(restore_console)


def restore_console() -> None:
    """Puts the driver's own stderr back (the log filters stay)."""
    global _stderr_filter  # noqa: PLW0603
    if _stderr_filter is not None:
        _stderr_filter.close()
        _stderr_filter = None


# The filter process: copies stdin to stdout line by line, leaving out lines that match argv[1].
# A partial line is passed on once no more data follows within 50 ms (prompts, progress bars).
_FILTER_PROGRAM = r"""
import os, re, select, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
drop = re.compile(sys.argv[1].encode())
def put(data):
    while data:
        data = data[os.write(1, data):]
pending = b""
while True:
    if pending and not select.select([0], [], [], 0.05)[0]:
        put(pending)
        pending = b""
    chunk = os.read(0, 65536)
    if not chunk:
        break
    *lines, pending = (pending + chunk).split(b"\n")
    put(b"".join(line + b"\n" for line in lines if not drop.search(line)))
if pending and not drop.search(pending):
    put(pending)
"""


@contextlib.contextmanager
def filtered_stderr(patterns: tuple[str, ...]) -> Iterator[None]:
    """Routes file descriptor 2 (Python's and C++'s stderr) through a filter process.

    Lines matching any of ``patterns`` are left out; the rest keep their order. Falls back to
    the unfiltered stderr when fd 2 cannot be redirected.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    read_end, write_end = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", _FILTER_PROGRAM, "|".join(f"(?:{p})" for p in patterns)],
            stdin=read_end, stdout=saved, stderr=saved, start_new_session=True,
        )
    except OSError:
        os.close(read_end)
        os.close(write_end)
        os.close(saved)
        yield
        return
    os.close(read_end)
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        # EOF reaches the filter once no process holds the pipe; it then drains and exits.
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=2)
