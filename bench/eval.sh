#!/usr/bin/env bash
# Scoring speed of lathe-eval's forward, Lathe against transformers on the same CPU, same tokens,
# same run: the SmolLM2-135M shape (vocab 49152, d 576, 30 layers, 9 heads / 3 kv heads, MLP 1536)
# with random weights, SEQUENCES (default 16) sequences of 256 tokens scored in batches of 8.
# Lathe's side is the opt-in EvalBench test (built with the Makefile's test flags, so it reuses the
# test build): it writes the checkpoint and tokens, then times SequenceScorer with fp32 and bf16
# weights. transformers' side is bench/eval_torch.py (LlamaForCausalLM, fp32, 2 threads, in a venv
# under bench/out/). Prints tokens/s, achieved GFLOP/s against an sgemm measured in the same run,
# the ratios, and how far the scores of the three paths are apart per token.
#   SEQUENCES=16 bench/eval.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out/eval
mkdir -p "$OUT"

swift build -c release --build-tests -Xswiftc -enable-testing 2>&1 | grep -E "error|Build complete" | tail -3
source bench/torch-venv.sh

LATHE_BENCH_OUT=$PWD/$OUT SEQUENCES=${SEQUENCES:-16} timeout 1800 swift test -c release --skip-build -Xswiftc -enable-testing \
    --filter 'EvalBench' > "$OUT/test.log" 2>&1 || { tail -20 "$OUT/test.log"; exit 1; }
"$VENV/bin/python" bench/eval_torch.py "$OUT" > "$OUT/torch.txt"

python3 - "$OUT" <<'PY'
import sys
out = sys.argv[1]

def read(path):
    return dict(line.strip().split("=", 1) for line in open(path) if "=" in line)

lathe, torch = read(f"{out}/lathe.txt"), read(f"{out}/torch.txt")
flops, sgemm, seq = int(lathe["flops_per_token"]), float(lathe["sgemm_gflops"]), int(lathe["seq"])
print(f"SmolLM2-135M shape, {lathe['sequences']} x {seq} tokens, batch {lathe['batch']}; {lathe['blas']}; "
      f"{flops / 1e6:.0f} MFLOP/token; sgemm 1024³ {sgemm:.0f} GFLOP/s in this run")
ref = float(torch["tokens_per_second"])
base = [float(x) for x in torch["logp"].split(",")]
for label, tps, logp in (("lathe fp32", float(lathe["fp32_tokens_per_second"]), lathe["fp32_logp"]),
                         ("lathe bf16", float(lathe["bf16_tokens_per_second"]), lathe["bf16_logp"]),
                         (f"transformers {torch['torch']} fp32 ({torch['attention']})", ref, torch["logp"])):
    gf = tps * flops / 1e9
    scores = [float(x) for x in logp.split(",")]
    gap = max(abs(a - b) for a, b in zip(scores, base)) / seq
    print(f"  {label:40s} {tps:7.0f} tokens/s  {gf:6.1f} GFLOP/s = {gf / sgemm:5.1%} of sgemm  {tps / ref:5.2f}x transformers"
          f"  max |Δ log p| per token vs transformers {gap:.1e}")
PY
