"""The suite's long subprocess jobs, run in the background while the in-process tests run.

The benchmark scripts at ``--tiny`` size and the notebooks are separate interpreters that
spend their time tracing and compiling, which is single-threaded. Run one after another
inside the tests that check them they took half the suite's time on two cores while the
other core idled. Instead a module names its jobs with :func:`register` and marks the
tests that read them ``@pytest.mark.background("name")``; once collection is done
(``conftest.py``) every job a selected test needs starts, in the order of the tests, on
``workers`` threads (one per core but the one the in-process tests use, at most four),
and a test that reads a job waits for it with :func:`result`. A job no selected test
needs never runs; one not started yet (e.g. under ``pytest-xdist``, where nothing is
started early) starts when a test asks for it.
"""

import os
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Job:
    argv: tuple[str, ...]  # "{out}" stands for the job's own empty folder
    env: tuple[tuple[str, str], ...]
    timeout: float


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str
    out: Path  # the job's folder

    def check(self, name: str) -> "Done":
        assert self.returncode == 0, f"{name} exited {self.returncode}:\n{self.stderr[-4000:]}"
        return self


JOBS: dict[str, Job] = {}


def register(name: str, *argv, timeout: float = 600, **env: str) -> str:
    """Declare a job (run in the repository root, with the tests' environment and ``env``)."""
    if name in JOBS:
        raise ValueError(f"background job {name!r} registered twice")
    JOBS[name] = Job(tuple(map(str, argv)), tuple(env.items()), timeout)
    return name


class Runner:
    def __init__(self, workers: int):
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="background")
        self.root = Path(tempfile.mkdtemp(prefix="cn-test-jobs-"))
        self.futures: dict[str, Future] = {}
        self.live: set[subprocess.Popen] = set()
        self.lock = threading.Lock()
        self.closed = False

    def start(self, names) -> None:
        for name in names:
            with self.lock:
                if name not in self.futures:
                    self.futures[name] = self.pool.submit(self._run, name, JOBS[name])

    def result(self, name: str) -> Done:
        if name not in JOBS:
            raise KeyError(f"no background job {name!r}; registered: {sorted(JOBS)}")
        self.start([name])
        return self.futures[name].result()

    def _run(self, name: str, job: Job) -> Done:
        out = self.root / name
        out.mkdir(parents=True)
        argv = [a.replace("{out}", str(out)) for a in job.argv]
        with self.lock:
            if self.closed:
                raise RuntimeError("the test session ended before this job started")
            proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **dict(job.env)},
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.live.add(proc)
        try:
            stdout, stderr = proc.communicate(timeout=job.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            stderr += f"\n[killed after {job.timeout} s]"
        finally:
            with self.lock:
                self.live.discard(proc)
        return Done(proc.returncode, stdout, stderr, out)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            for proc in self.live:
                proc.kill()
        self.pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2) - 1))


_RUNNER: Runner | None = None


def runner() -> Runner:
    global _RUNNER
    if _RUNNER is None:
        _RUNNER = Runner(default_workers())
    return _RUNNER


def result(name: str) -> Done:
    """Wait for job ``name`` (starting it if nothing has) and return what it left."""
    return runner().result(name)


def done(name: str) -> Path:
    """The folder job ``name`` wrote to, once it has exited 0 (else its stderr's tail)."""
    return result(name).check(name).out


def close() -> None:
    global _RUNNER
    if _RUNNER is not None:
        _RUNNER.close()
        _RUNNER = None
