#!/usr/bin/env bash
# Install every Debian 12 package awsm needs. Idempotent: when all are
# already installed it changes nothing and needs no network.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config      # C17 toolchain and build
  llvm-19-dev                           # awsmc: the LLVM C API
  clang lld wasi-libc libclang-rt-14-dev-wasm32   # C -> wasm32-wasi
  libclang-rt-14-dev                    # sanitizer runtimes
  libuv1-dev libjansson-dev             # awsmrt: event loops, JSON
  libhttp-parser-dev                    # awsmrt: HTTP/1.1 requests
  curl haproxy wrk                      # HTTP tests: client, balancer, load
  python3 python3-prometheus-client     # tests: parse the /metrics output
  nettle-dev                            # SHA-256 of modules
  wabt binaryen                         # wast2json, wasm2c, wasm-opt
  nodejs gnuplot-nox bc                 # bench peers, charts, arithmetic
  time                                  # bench/compile: peak memory (GNU time)
  emscripten                            # tests/toolchain: a second wasm toolchain
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
