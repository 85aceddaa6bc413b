#!/bin/sh
# Generation speed: greedy decoding of 256 new tokens for 8 prompts with the KV cache beside
# full recomputation of the sequence at every step, on the tiny and small presets, in one run.
# Prints tokens/s of both and the ratio (issue 7's target: KV cache >= 5x at 256 new tokens).
set -e
cd "$(dirname "$0")/.."
swift build -c release --build-tests -Xswiftc -enable-testing 2>&1 | grep -E "error|Build complete" | tail -3
LATHE_BENCH=1 LATHE_BIN=$PWD/.build/release timeout 1800 swift test -c release --skip-build -Xswiftc -enable-testing \
    --filter 'GenerationBench' 2>&1 | grep -E "^generate|passed|failed"
