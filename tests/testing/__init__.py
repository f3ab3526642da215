"""Shared helpers for Sluice's integration and end-to-end tests (Python 3 standard library only).

Modules:
  harness    command-line arguments (--bin-dir, --repo), test runner, temp dirs, wait_until
  cluster    JobManager/TaskManager processes, REST polling, CLI invocation, cleanup
  reference  independent flight-delays computation and output comparison
  specs      job spec rewriting (paths, parallelism) for temp copies of examples
"""
