#!/usr/bin/env bash
# Training speed, Lathe against PyTorch on the same CPU in the same run: the `tiny` and `small`
# Llama configs for STEPS steps each (AdamW, random 16-token phrases repeated along each row).
# Lathe runs fp32 and bf16 (bench-train, a bench-only executable); PyTorch runs LlamaForCausalLM
# fp32, eager, 2 threads (bench/train_torch.py, in a venv under bench/out/).
# Prints tokens/s (steps after the first), achieved FLOP/s = tokens/s × (6 × matrix parameters
# + 12 · layers · seq · heads·head_dim) — the embedding lookup costs none, lm_head counts, and
# attention counts its full T×T products — that as a fraction of a 2048³ sgemm measured in the
# same run, the ratio Lathe/PyTorch, peak RSS against Lathe's estimate (parameters, gradients,
# two AdamW moments, activations, bf16 copies), and how far bf16's loss curve strays from fp32's.
#   STEPS=20 CONFIGS="tiny small" bench/train.sh
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-20}
CONFIGS=${CONFIGS:-"tiny small"}
OUT=bench/out/train
mkdir -p "$OUT"

# The test build's flags (as `make test`), so this reuses that build instead of rebuilding without them.
swift build -c release --build-tests -Xswiftc -enable-testing 2>&1 | grep -E "error|Build complete" | tail -3
BIN=.build/release/bench-train

source bench/torch-venv.sh

for config in $CONFIGS; do
    case $config in
        tiny) shape="8 256" ;;
        small) shape="4 512" ;;
        *) echo "unknown config $config (tiny or small)"; exit 2 ;;
    esac
    # shellcheck disable=SC2086
    "$BIN" $config $shape "$STEPS" fp32 sgemm > "$OUT/$config-fp32.txt"
    # shellcheck disable=SC2086
    "$BIN" $config $shape "$STEPS" bf16 > "$OUT/$config-bf16.txt"
    # shellcheck disable=SC2086
    "$VENV/bin/python" bench/train_torch.py $config $shape "$STEPS" > "$OUT/$config-torch.txt"
done

python3 - "$OUT" $CONFIGS <<'PY'
import sys
out, configs = sys.argv[1], sys.argv[2:]

def read(path):
    return dict(line.strip().split("=", 1) for line in open(path) if "=" in line)

for name in configs:
    fp32, bf16, torch = (read(f"{out}/{name}-{kind}.txt") for kind in ("fp32", "bf16", "torch"))
    sgemm = float(fp32["sgemm_gflops"])
    flops = int(fp32["flops_per_token"])
    print(f"{name}: B={fp32['batch']} T={fp32['seq']}, {int(fp32['parameters']):,} parameters, "
          f"{flops / 1e6:.1f} MFLOP/token, {fp32['steps']} steps; {fp32['blas']}; sgemm 2048³ {sgemm:.0f} GFLOP/s")
    ref = float(torch["tokens_per_second"])
    base = [float(x) for x in fp32["losses"].split(",")]
    for label, run in (("lathe fp32", fp32), ("lathe bf16", bf16), (f"torch {torch['torch']} fp32", torch)):
        tps = float(run["tokens_per_second"])
        gf = tps * flops / 1e9
        rss = int(run["peak_rss"]) / 2**20
        extra = ""
        if "estimate" in run:
            est = int(run["estimate"]) / 2**20
            extra = f", estimate {est:.0f} MiB ({rss / est:.2f}x)"
        losses = [float(x) for x in run["losses"].split(",")]
        drift = max(abs(a - b) / b for a, b in zip(losses, base))
        print(f"  {label:18s} {tps:8.0f} tokens/s  {gf:6.1f} GFLOP/s = {gf / sgemm:5.1%} of sgemm  "
              f"{tps / ref:5.2f}x torch  peak RSS {rss:.0f} MiB{extra}  "
              f"loss {losses[0]:.3f} -> {losses[-1]:.3f}" + (f" (max {drift:.2%} from lathe fp32)" if run is bf16 else ""))
PY
