#!/usr/bin/env bash
# Installs dependencies, builds Sluice (Release, build/) and runs every test except benchmarks:
# unit (GoogleTest), integration and e2e (Python drivers of real processes) tests via ctest.
# Takes well under 40 minutes on 2 cores.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
ctest --test-dir build -LE bench --output-on-failure -j2
