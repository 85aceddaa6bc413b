#!/usr/bin/env bash
# RLHF speed, Lathe beside TRL on the same CPU in the same run, on the tiny config (vocab 4096,
# d 256, 4 layers, 4 heads, SwiGLU 688), fp32, batch 8 pairs, synthetic preference pairs
# (prompt and each response ~48 words of a made-up vocabulary), the same tokenizer and starting
# weights for both (TRL loads Lathe's checkpoint through transformers), both reading each pair as ChatML
# conversations (TRL through the checkpoint's chat template):
#   - DPO pairs/s: lathe-train --objective dpo against TRL's DPOTrainer, which by default runs the
#     reference model every step; TRL with precompute_ref_log_probs (one reference pass before
#     training, as Lathe does) is printed too;
#   - reward-model pairs/s: lathe-train --objective reward against TRL's RewardTrainer, chosen and
#     rejected in one forward of 16 rows padded to the longest; the row prints both sides' tokens per sequence;
#   - generation tokens/s with the KV cache against full recomputation, 256 new tokens
#     (bench/generate.sh's GenerationBench).
# Lathe's pairs/s is (STEPS − 1)·8 over the wall time of a STEPS-step run less that of a 1-step run
# (start-up and the reference pass cancel); TRL's times each step after the first with a callback.
# Targets (issue 7): DPO and reward training ≥ 2x TRL; KV cache ≥ 5x recomputation.
#   STEPS=30 bench/rlhf.sh
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-30}
OUT=bench/out/rlhf
mkdir -p "$OUT"

# The test build's flags (as `make test`), so this reuses that build instead of rebuilding without them.
swift build -c release --build-tests -Xswiftc -enable-testing 2>&1 | grep -E "error|Build complete" | tail -3
BIN=.build/release

. bench/torch-venv.sh
"$VENV/bin/python" -c "import trl, datasets" 2>/dev/null || "$VENV/bin/pip" install -q trl datasets

# Synthetic pairs: a fixed made-up vocabulary, so the BPE tokenizer and both tools see the same text.
python3 - "$OUT/pairs.jsonl" <<'PY'
import json, random, sys
rng = random.Random(7)
syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "da", "gu", "zo", "fa", "re", "bi", "no"]
words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(3000)]
def text(n):
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."
with open(sys.argv[1], "w") as f:
    for i in range(96):
        f.write(json.dumps({"id": f"p{i}", "prompt": text(48), "chosen": text(48), "rejected": text(48)}) + "\n")
PY
cat > "$OUT/tiny.json" <<'JSON'
{"vocab_size": 4096, "hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 1024, "tie_word_embeddings": false}
JSON
"$BIN/lathe-train" tokenizer --vocab-size 4096 --quiet -o "$OUT/tok.json" "$OUT/pairs.jsonl"

COMMON=(--tokenizer "$OUT/tok.json" --config "$OUT/tiny.json" --seq-len 512 --batch-size 8 --lr 1e-5 --seed 1 --quiet "$OUT/pairs.jsonl")
# Wall seconds of a lathe-train run of $2 steps of objective $1 (its checkpoints in $OUT/$1-$2).
lathe_seconds() {
    rm -rf "$OUT/$1-$2"
    local start end
    start=$(date +%s.%N)
    "$BIN/lathe-train" --objective "$1" --steps "$2" --out "$OUT/$1-$2" --log "$OUT/$1-$2.jsonl" "${COMMON[@]}"
    end=$(date +%s.%N)
    python3 -c "print($end - $start)"
}
lathe_pairs_per_second() {
    local one many
    one=$(lathe_seconds "$1" 1)
    many=$(lathe_seconds "$1" "$STEPS")
    python3 -c "print(8 * ($STEPS - 1) / ($many - $one))"
}

dpo=$(lathe_pairs_per_second dpo)
"$VENV/bin/python" bench/rlhf_trl.py dpo "$OUT/dpo-1/checkpoint-1" "$OUT/pairs.jsonl" "$STEPS" > "$OUT/trl-dpo.txt" 2> "$OUT/trl-dpo.log"
"$VENV/bin/python" bench/rlhf_trl.py dpo "$OUT/dpo-1/checkpoint-1" "$OUT/pairs.jsonl" "$STEPS" precompute \
    > "$OUT/trl-dpo-pre.txt" 2> "$OUT/trl-dpo-pre.log"
"$VENV/bin/python" bench/rlhf_trl.py reward "$OUT/dpo-1/checkpoint-1" "$OUT/pairs.jsonl" "$STEPS" > "$OUT/trl-reward.txt" 2> "$OUT/trl-reward.log"
reward=$(lathe_pairs_per_second reward)

generation=$(LATHE_BENCH=1 LATHE_BIN=$PWD/$BIN timeout 1800 swift test -c release --skip-build -Xswiftc -enable-testing \
    --filter 'GenerationBench' 2>&1 | grep -E "^generate" || true)

python3 - "$OUT" "$dpo" "$reward" "$generation" "$STEPS" <<'PY'
import json, re, sys
out, dpo, reward, generation, steps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
def read(path):
    return dict(line.strip().split("=", 1) for line in open(path) if "=" in line)
trl, pre, rm = read(f"{out}/trl-dpo.txt"), read(f"{out}/trl-dpo-pre.txt"), read(f"{out}/trl-reward.txt")
print(f"tiny config (vocab 4096, d 256, 4 layers, 4 heads, SwiGLU 688), fp32, batch 8 pairs, 96 synthetic pairs; "
      f"TRL {trl['trl']}, transformers {trl['transformers']}, torch {trl['torch']} (2 threads)")
d, t, p = float(dpo), float(trl["pairs_per_second"]), float(pre["pairs_per_second"])
print(f"  DPO     lathe {d:7.2f} pairs/s   TRL {t:7.2f} pairs/s (reference every step)  {d / t:5.2f}x   "
      f"TRL precomputed reference {p:7.2f} pairs/s  {d / p:5.2f}x   (target >= 2x; issue's TRL 1.16: 6.6)")
r, lr = float(rm["pairs_per_second"]), float(reward)
log = [json.loads(line) for line in open(f"{out}/reward-{steps}.jsonl")]
lathe_tokens = log[-1]["tokens"] / (16 * len(log))  # the log's tokens count the run so far
print(f"  reward  lathe {lr:7.2f} pairs/s   TRL {r:7.2f} pairs/s  {lr / r:5.2f}x   (target >= 2x; issue's TRL 1.16: 16.8); "
      f"tokens per sequence: lathe {lathe_tokens:.1f}, TRL {float(rm['tokens_per_sequence']):.1f}")
found = re.findall(r"generate (\w+) .*KV cache (\d+) tokens/s, full recomputation (\d+) tokens/s, ratio ([\d.]+)x", generation)
for preset, cached, full, ratio in found:
    print(f"  generate {preset:5s} 8 prompts x 256 new tokens: KV cache {cached} tokens/s, full recomputation {full} tokens/s, "
          f"{ratio}x   (target >= 5x)")
if not found:
    print("  generate: GenerationBench printed nothing (" + generation[:200] + ")")
PY
