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
# A tool and the reference (validate on the same file) run alternately, 5 times each, so a burst
# of load from elsewhere falls on both; prints the medians "wall cpu ref-wall ref-cpu".
paired() {  # file kind tool args...
  local file=$1 kind=$2; shift 2
  local tool ref runs
  runs=$(for _ in 1 2 3 4 5; do timeit "$@" "$file"; echo "R $(timeit "$BIN/lathe" validate --kind "$kind" --quiet "$file")"; done)
  tool=$(grep -v '^R' <<<"$runs"); ref=$(grep '^R' <<<"$runs" | cut -d' ' -f2-)
  med() { sort -g | sed -n 3p; }
  echo "$(cut -d' ' -f1 <<<"$tool" | med) $(cut -d' ' -f2 <<<"$tool" | med) $(cut -d' ' -f1 <<<"$ref" | med) $(cut -d' ' -f2 <<<"$ref" | med)"
}
row() {  # name records "seconds cpu reference-seconds reference-cpu"
  python3 -c "
import sys
n = int(sys.argv[2]); t, c, rt, rc = map(float, sys.argv[3].split())
print(f'{sys.argv[1]:<48} {n/t:>10,.0f} records/s  {t/rt:5.2f}x validate  ({c/rc:5.2f}x in cpu time)')" "$@"
}
A="$OUT/alpaca-$ALPACA.jsonl"; T="$OUT/threads-$THREADS.jsonl"
t_sft=$(paired "$A" json "$BIN/lathe-format-sft" --quiet)
t_sft_render=$(paired "$A" json "$BIN/lathe-format-sft" --quiet --render chatml)
t_pp=$(paired "$T" thread "$BIN/lathe-pair-prefs" --quiet)
t_pp_all=$(paired "$T" thread "$BIN/lathe-pair-prefs" --quiet --strategy all-pairs)
t_sft_t=$(paired "$T" thread "$BIN/lathe-format-sft" --quiet)
echo "$(nproc) cores; each tool alternated with validate on the same file, 5 runs each, medians;"
echo "ratio = tool time / validate time; validate's own row is from the first pairing"
self() { set -- $1; echo "$3 $4 $3 $4"; }
row "lathe validate --kind json (alpaca)" "$ALPACA" "$(self "$t_sft")"
row "lathe-format-sft (alpaca)" "$ALPACA" "$t_sft"
row "lathe-format-sft --render chatml (alpaca)" "$ALPACA" "$t_sft_render"
row "lathe validate --kind thread (threads)" "$THREADS" "$(self "$t_pp")"
row "lathe-pair-prefs (threads)" "$THREADS" "$t_pp"
row "lathe-pair-prefs --strategy all-pairs (threads)" "$THREADS" "$t_pp_all"
row "lathe-format-sft (threads)" "$THREADS" "$t_sft_t"
