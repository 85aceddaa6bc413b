#!/usr/bin/env bash
# lathe-dedupe --near --verify against datasketch's MinHashLSH on a generated corpus with
# planted near-duplicates of known word-5-gram Jaccard. Prints documents/s, MB/s, peak RSS and
# precision/recall/F1 of the removed set against the truth at Jaccard >= 0.8, for both, and
# the ratios. Everything it makes goes to bench/out/ (git-ignored).
#   DOCS=50000 SEED=1 bench/dedupe.sh
# BIN_DIR=DIR times the binaries already built in DIR (another checkout's, for a before/after)
# instead of building this one.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS=${DOCS:-50000}
SEED=${SEED:-1}
OUT=bench/out/dedupe-$DOCS-$SEED
mkdir -p "$OUT"

if [ -z "${BIN_DIR:-}" ]; then
    # The flags of `make test`, so the bench reuses the test build instead of rebuilding every module.
    swift build -c release --build-tests -Xswiftc -enable-testing >/dev/null
    BIN_DIR=.build/release
fi
BIN=$BIN_DIR/lathe-dedupe

if [ ! -x bench/out/venv/bin/python ] || ! bench/out/venv/bin/python -c "import datasketch" 2>/dev/null; then
    python3 -m venv bench/out/venv
    bench/out/venv/bin/pip install -q datasketch
fi

# A corpus from before its records carried "source" fails validation on every line, which
# would time validate's slow path: make it again.
if [ ! -f "$OUT/corpus.jsonl" ] || ! head -n 1 "$OUT/corpus.jsonl" | grep -q '"source"'; then
    python3 bench/dedupe_corpus.py "$OUT" --docs "$DOCS" --seed "$SEED"
fi
BYTES=$(stat -c %s "$OUT/corpus.jsonl")
# The machine is shared: its load, beside the figures, says how far to trust them.
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)

# Peak RSS (KB) and wall seconds of one command, via GNU time.
measure() { /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@"; read -r SECS RSS < "$OUT/time.txt"; }

measure "$BIN" --near --verify --quiet "$OUT/corpus.jsonl" -o /dev/null --rejects "$OUT/lathe-rejects.jsonl"
LATHE_SECS=$SECS; LATHE_RSS=$RSS
measure "$BIN" --near --quiet "$OUT/corpus.jsonl" -o /dev/null --rejects "$OUT/lathe-noverify-rejects.jsonl"
NOVERIFY_SECS=$SECS
# Exact mode and validate's byte-level check on the same file, alternated, median of 9 each.
# Each takes 0.1-0.2 s, so they are timed to the microsecond: GNU time's hundredths would make
# the ratio move by a tenth between runs.
elapsed() { local start end; start=$(date +%s%N); "$@"; end=$(date +%s%N); SECS=$(( (end - start) / 1000 ))e-6; }
EXACT_RUNS=(); VALIDATE_RUNS=()
for _ in 1 2 3 4 5 6 7 8 9; do
    elapsed "$BIN" --quiet "$OUT/corpus.jsonl" -o /dev/null
    EXACT_RUNS+=("$SECS")
    elapsed "$BIN_DIR/lathe" validate --kind document --quiet "$OUT/corpus.jsonl" >/dev/null
    VALIDATE_RUNS+=("$SECS")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 5p; }
EXACT_SECS=$(median "${EXACT_RUNS[@]}")
VALIDATE_SECS=$(median "${VALIDATE_RUNS[@]}")
measure bench/out/venv/bin/python bench/dedupe_datasketch.py "$OUT/corpus.jsonl" "$OUT/datasketch-removed.txt" >/dev/null
DS_SECS=$SECS; DS_RSS=$RSS

echo "load average (1 min) at start $LOAD_START, at end $(cut -d' ' -f1 /proc/loadavg), on $(nproc) cores"
python3 - "$DOCS" "$BYTES" "$LATHE_SECS" "$LATHE_RSS" "$NOVERIFY_SECS" "$EXACT_SECS" "$DS_SECS" "$DS_RSS" "$VALIDATE_SECS" <<'PY'
import sys
docs, size = int(sys.argv[1]), int(sys.argv[2])
lathe, lathe_rss, noverify, exact, ds, ds_rss, validate = map(float, sys.argv[3:10])
print("corpus: %d documents, %.1f MB" % (docs, size / 1e6))
for name, secs, rss in [("lathe-dedupe --near --verify", lathe, lathe_rss), ("lathe-dedupe --near", noverify, None),
                        ("lathe-dedupe (exact)", exact, None), ("lathe validate --kind document", validate, None),
                        ("datasketch MinHashLSH 128/0.8", ds, ds_rss)]:
    print("%-32s %7.3f s  %8.0f docs/s  %6.1f MB/s" % (name, secs, docs / secs, size / 1e6 / secs)
          + ("  peak RSS %.0f MB" % (rss / 1024) if rss else ""))
print("speed ratio (--near --verify vs datasketch): %.1fx" % (ds / lathe))
print("exact mode at %.2fx of validate's speed on the same file (median of 9 each)" % (validate / exact))
PY
python3 bench/dedupe_score.py "$OUT/truth.json" "$OUT/lathe-rejects.jsonl" "lathe-dedupe --near --verify"
python3 bench/dedupe_score.py "$OUT/truth.json" "$OUT/lathe-noverify-rejects.jsonl" "lathe-dedupe --near (no verify)"
python3 bench/dedupe_score.py "$OUT/truth.json" "$OUT/datasketch-removed.txt" "datasketch"
