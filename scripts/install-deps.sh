#!/usr/bin/env bash
# Installs the Debian 12 packages that Sluice's build, tests, examples and benchmarks need.
# Idempotent: packages already installed are left alone and apt is not touched at all when
# nothing is missing. Must run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates curl python3 procps
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libcli11-dev libcpp-httplib-dev nlohmann-json3-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev librocksdb-dev
  librdkafka-dev kcat python3-kafka libsimdjson-dev libssl-dev libpg-query-dev
  libavro-dev python3-avro libmicrohttpd-dev python3-jsonschema prometheus chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Browser tests (tests/browser, e2e.dashboard): playwright-core at the version pinned in
# tests/browser/package-lock.json, from the npm registry with the machine's Node.js and npm. It
# drives Debian's /usr/bin/chromium (package chromium above): never download a browser build.
# Skipped when the pinned version is already installed.
BROWSER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser"
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "install-deps: WARNING: node/npm not found; the dashboard test needs them" \
       "(then: npm ci --prefix $BROWSER_DIR --no-audit --no-fund)" >&2
else
  want="$(node -p "require('$BROWSER_DIR/package-lock.json').packages['node_modules/playwright-core'].version")"
  have="$(node -p "require('$BROWSER_DIR/node_modules/playwright-core/package.json').version" 2>/dev/null || true)"
  if [ "$want" = "$have" ]; then
    echo "install-deps: playwright-core $have present"
  else
    echo "install-deps: npm ci in $BROWSER_DIR (playwright-core $want)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$BROWSER_DIR" --no-audit --no-fund
  fi
fi
