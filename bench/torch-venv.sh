#!/usr/bin/env bash
# Makes bench/out/torch-venv (torch CPU + transformers from PyPI) unless it is already there;
# sourced by the benchmarks that compare with PyTorch. Sets VENV. TORCH_VENV names another one;
# a git worktree without its own uses the main checkout's, so worktrees share one install.
VENV=${TORCH_VENV:-bench/out/torch-venv}
if [ -z "${TORCH_VENV:-}" ] && [ ! -x "$VENV/bin/python" ]; then
    main_checkout=$(dirname "$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || echo .)")
    [ -x "$main_checkout/$VENV/bin/python" ] && VENV="$main_checkout/$VENV"
fi
if ! "$VENV/bin/python" -c "import torch, transformers" 2>/dev/null; then
    python3 -m venv "$VENV"
    # CPU-only torch: a local CPU wheel where pip's find-links has one, else torch from PyPI
    # (or from TORCH_INDEX_URL when it is set, e.g. to a CPU-only wheel index).
    wheel=$(ls "${PIP_FIND_LINKS:-/nonexistent}"/torch-*+cpu-*.whl 2>/dev/null | sort -V | tail -1 || true)
    if [ -n "$wheel" ]; then
        "$VENV/bin/pip" install -q "$wheel"
    else
        "$VENV/bin/pip" install -q torch ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
    fi
    "$VENV/bin/pip" install -q transformers
fi
