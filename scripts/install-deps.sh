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
  libavro-dev python3-avro
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
