#!/usr/bin/env bash
# The pipeline as far as it exists, on bundled data: ingest a WARC, deduplicate, validate.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${LATHE_BIN:-.build/release}
OUT=demo/out
rm -rf "$OUT" && mkdir -p "$OUT"

echo "== bundled record fixtures against their schemas"
for f in fixtures/records/*.jsonl; do
  "$BIN/lathe" validate --kind "$(basename "$f" .jsonl)" "$f" --quiet
done

echo "== lathe-ingest fixtures/ingest/mixed.warc"
"$BIN/lathe-ingest" fixtures/ingest/mixed.warc -o "$OUT/docs.jsonl" --rejects "$OUT/ingest-rejects.jsonl"

echo "== lathe-dedupe"
"$BIN/lathe-dedupe" "$OUT/docs.jsonl" -o "$OUT/dedup.jsonl" --rejects "$OUT/dedupe-rejects.jsonl"

echo "== lathe validate --kind document"
"$BIN/lathe" validate --kind document "$OUT/dedup.jsonl"
echo "outputs are in $OUT/"
