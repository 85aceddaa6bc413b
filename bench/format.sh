#!/usr/bin/env bash
# Formatting speed: lathe-format-sft on 1M Alpaca records and lathe-pair-prefs (and
# lathe-format-sft) on 200k threads of 5 answers, each in records/s beside `lathe validate` on
# the same file in the same run. Target: each tool within 2x of validate's time.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${LATHE_BIN:-.build/release}
OUT=bench/out/format && mkdir -p "$OUT"
ALPACA=${ALPACA:-1000000}
THREADS=${THREADS:-200000}
if [ ! -f "$OUT/alpaca-$ALPACA.jsonl" ] || [ ! -f "$OUT/threads-$THREADS.jsonl" ]; then
  python3 - "$OUT" "$ALPACA" "$THREADS" <<'PY'
import json, random, sys
out, n_alpaca, n_threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(5)
words = ("the of and to in a is that for it as was with be by on not this are or from at which but have an they you "
         "were there one all we their has would when if so no will café naïve über 東京 данные").split()
def text(lo, hi):
    return " ".join(random.choice(words) for _ in range(random.randint(lo, hi))).capitalize() + "."
with open(f"{out}/alpaca-{n_alpaca}.jsonl", "w") as f:
    for i in range(n_alpaca):
        f.write(json.dumps({"instruction": text(5, 25), "input": text(0, 20) if i % 3 else "", "output": text(10, 80)},
                           ensure_ascii=False) + "\n")
with open(f"{out}/threads-{n_threads}.jsonl", "w") as f:
    for i in range(n_threads):
        answers = [{"body": text(10, 120), "score": random.randint(-3, 40), "accepted": False} for _ in range(5)]
        if i % 2: random.choice(answers)["accepted"] = True
        f.write(json.dumps({"id": f"bench/{i}", "source": "stackexchange/bench",
                            "question": {"title": text(4, 12), "body": text(10, 60), "score": random.randint(-2, 50)},
                            "answers": answers}, ensure_ascii=False) + "\n")
PY
fi
# Each timing is "wall-seconds cpu-seconds" (cpu = user + system of the tool): on a machine
# shared with other work the cpu ratio moves far less than the wall one.
timeit() { /usr/bin/time -f "%e %U %S" -o "$OUT/.time" "$@" >/dev/null; awk '{ print $1, $2 + $3 }' "$OUT/.time"; }
median3() {
  local runs; runs=$(for _ in 1 2 3; do timeit "$@"; done)
  echo "$(cut -d' ' -f1 <<<"$runs" | sort -g | sed -n 2p) $(cut -d' ' -f2 <<<"$runs" | sort -g | sed -n 2p)"
}
row() {  # name records "seconds cpu" "reference-seconds reference-cpu"
  python3 -c "
import sys
n = int(sys.argv[2]); t, c = map(float, sys.argv[3].split()); rt, rc = map(float, sys.argv[4].split())
print(f'{sys.argv[1]:<48} {n/t:>10,.0f} records/s  {t/rt:5.2f}x validate  ({c/rc:5.2f}x in cpu time)')" "$@"
}
A="$OUT/alpaca-$ALPACA.jsonl"; T="$OUT/threads-$THREADS.jsonl"
t_va=$(median3 "$BIN/lathe" validate --kind json --quiet "$A")
t_sft=$(median3 "$BIN/lathe-format-sft" --quiet "$A")
t_sft_render=$(median3 "$BIN/lathe-format-sft" --quiet --render chatml "$A")
t_vt=$(median3 "$BIN/lathe" validate --kind thread --quiet "$T")
t_pp=$(median3 "$BIN/lathe-pair-prefs" --quiet "$T")
t_pp_all=$(median3 "$BIN/lathe-pair-prefs" --quiet --strategy all-pairs "$T")
t_sft_t=$(median3 "$BIN/lathe-format-sft" --quiet "$T")
echo "$(nproc) cores; median of 3 runs; ratio = tool time / validate time on the same file"
row "lathe validate --kind json (alpaca)" "$ALPACA" "$t_va" "$t_va"
row "lathe-format-sft (alpaca)" "$ALPACA" "$t_sft" "$t_va"
row "lathe-format-sft --render chatml (alpaca)" "$ALPACA" "$t_sft_render" "$t_va"
row "lathe validate --kind thread (threads)" "$THREADS" "$t_vt" "$t_vt"
row "lathe-pair-prefs (threads)" "$THREADS" "$t_pp" "$t_vt"
row "lathe-pair-prefs --strategy all-pairs (threads)" "$THREADS" "$t_pp_all" "$t_vt"
row "lathe-format-sft (threads)" "$THREADS" "$t_sft_t" "$t_vt"
