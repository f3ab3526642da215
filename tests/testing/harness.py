"""Test harness: arguments, runner, temporary directories and condition polling.

Every test script is run by ctest as
    python3 <script> --bin-dir <build>/bin --repo <repo root> [unittest args...]
and calls harness.main() which parses those flags, runs the unittest cases in the script, prints
the logs of every daemon started through testing.cluster when anything failed, and always kills
every process the test started (also on exceptions and on interpreter exit).
"""

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import time
import unittest


class Config:
    """Paths the tests run against; filled in by main() (or configure() from other tools)."""

    bin_dir = None
    repo = None
    keep_temp = False

    @classmethod
    def binary(cls, name):
        path = os.path.join(cls.bin_dir, name)
        if not os.access(path, os.X_OK):
            raise AssertionError(
                f"expected the executable {path} (build it first: cmake --build build), not found")
        return path

    @classmethod
    def shared_data(cls, name):
        """A file of the shared data set; it lives beside the repository: <repo>/../shared/data."""
        path = os.path.normpath(os.path.join(cls.repo, "..", "shared", "data", name))
        if not os.path.exists(path):
            raise AssertionError(
                f"expected the shared data file {path} (../shared/data beside the repo), not found")
        return path


_temp_dirs = []
_failed = False
_failure_hooks = []   # callables run (once) when a test failed, e.g. printing daemon logs
_cleanup_hooks = []   # callables run at exit, e.g. killing processes


def on_failure(hook):
    _failure_hooks.append(hook)


def on_cleanup(hook):
    _cleanup_hooks.append(hook)


def make_temp_dir(prefix):
    """A fresh temp dir, removed at exit unless a test failed or --keep-temp was given."""
    path = tempfile.mkdtemp(prefix=f"sluice-{prefix}-")
    _temp_dirs.append(path)
    return path


def wait_until(condition, timeout_s, what, interval_s=0.05):
    """Polls condition() until it returns a truthy value and returns that value.

    Raises AssertionError naming `what` (a string or a callable returning a string, evaluated at
    the deadline so it can describe the last observed state) when timeout_s elapses first.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            description = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout_s:.1f} s waiting for {description}")
        time.sleep(interval_s)


def _run_cleanup():
    while _cleanup_hooks:
        hook = _cleanup_hooks.pop()
        try:
            hook()
        except Exception as e:  # cleanup must go on
            print(f"cleanup hook failed: {e!r}", file=sys.stderr)
    if _failed or Config.keep_temp:
        for d in _temp_dirs:
            print(f"kept temp dir {d}", file=sys.stderr)
    else:
        for d in _temp_dirs:
            shutil.rmtree(d, ignore_errors=True)
    _temp_dirs.clear()


atexit.register(_run_cleanup)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--bin-dir", required=True, help="directory holding sluice, "
                        "sluice-jobmanager, sluice-taskmanager")
    parser.add_argument("--repo", required=True, help="repository root")
    parser.add_argument("--keep-temp", action="store_true", help="keep temp dirs and logs")
    args, rest = parser.parse_known_args(argv)
    Config.bin_dir = os.path.abspath(args.bin_dir)
    Config.repo = os.path.abspath(args.repo)
    Config.keep_temp = args.keep_temp
    return rest


def main():
    """Entry point of every test script: runs its unittest cases and exits 0 iff all passed."""
    global _failed
    rest = parse_args(sys.argv[1:])
    program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    ok = program.result.wasSuccessful() and program.result.testsRun > 0
    if not ok:
        _failed = True
        for hook in _failure_hooks:
            try:
                hook()
            except Exception as e:
                print(f"failure hook failed: {e!r}", file=sys.stderr)
    _run_cleanup()
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(0 if ok else 1)
