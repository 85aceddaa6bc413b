#!/usr/bin/env bash
# The Lathe pipeline on the bundled demo data (fixtures/demo, made by scripts/make_demo_data.py):
# Millbrook, an invented town, as a crawled web site, a Q&A dump and two eval sets.
# Each stage prints its summary line: what came in, what went out, what was dropped and why.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${LATHE_BIN:-.build/release}
DATA=fixtures/demo
OUT=demo/out
rm -rf "$OUT" && mkdir -p "$OUT"
step() { printf '\n== %s\n' "$*"; }

step "bundled record fixtures against their schemas"
for f in fixtures/records/*.jsonl; do
  "$BIN/lathe" validate --kind "$(basename "$f" .jsonl)" "$f" --quiet
done

step "1. the crawl: extract main text, drop thin and spammy pages (Gopher rules), deduplicate, decontaminate"
"$BIN/lathe-ingest" "$DATA/crawl.warc.gz" --filters gopher --rejects "$OUT/ingest-rejects.jsonl" |
  "$BIN/lathe-dedupe" --near --against "$DATA/choice.jsonl" --against "$DATA/prompts.jsonl" --min-ngram 5 \
    --contamination-report "$OUT/leaks.jsonl" --rejects "$OUT/dedupe-rejects.jsonl" -o "$OUT/documents.jsonl"
"$BIN/lathe" validate --kind document "$OUT/documents.jsonl" --quiet
echo "documents: $(wc -l < "$OUT/documents.jsonl"), eval items found in the crawl: $(wc -l < "$OUT/leaks.jsonl")"

echo
echo "outputs are in $OUT/"
