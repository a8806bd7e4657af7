"""The worker yields the CPU to readers (config/celery.py, EMEND_WORKER_NICE).

A real worker is started (prefork, two processes, the embedded broker): its main process and
the pool's processes it forks must all run at the niceness it was started with plus the setting,
and 0 must leave them as started."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).parent / "celery"


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def _worker_niceness(tmp_path: Path, step: str) -> tuple[int, list[int]]:
    env = {**os.environ, "DEBUG": "1", "EMEND_VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "CELERY_BROKER_URL": "filesystem://", "EMEND_WORKER_NICE": step}
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [str(CELERY), "-A", "config", "worker", "-c", "2", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-l", "INFO", "-f", str(log)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log.exists() and " ready." in log.read_text(errors="replace"):
                break
            assert process.poll() is None, log.read_text(errors="replace") if log.exists() else ""
            time.sleep(0.1)
        else:
            pytest.fail("the worker did not start")
        pool = _children(process.pid)
        return (os.getpriority(os.PRIO_PROCESS, process.pid),
                [os.getpriority(os.PRIO_PROCESS, p) for p in pool])
    finally:
        os.killpg(process.pid, 9)
        process.wait()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc")
def test_the_worker_and_its_pool_run_niced_by_the_setting(tmp_path):
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    if ours > 12:
        pytest.skip("run niced past 12: 7 more would be capped at 19 and prove nothing")
    main, pool = _worker_niceness(tmp_path / "niced", "7")
    assert main == ours + 7
    assert len(pool) == 2 and set(pool) == {main}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc")
def test_zero_leaves_the_worker_as_started(tmp_path):
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    main, pool = _worker_niceness(tmp_path / "plain", "0")
    assert main == ours and set(pool) == {ours}
