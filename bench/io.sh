#!/usr/bin/env bash
# JSONL reading speed: `lathe validate --kind document` beside `cat | wc -l` and `zcat | wc -l`
# on a ~200 MB file of realistic document records, plain and gzip, with peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${LATHE_BIN:-.build/release}
OUT=bench/out/io && mkdir -p "$OUT"
MB=${MB:-200}
if [ ! -f "$OUT/docs.jsonl" ]; then
  python3 - "$OUT/docs.jsonl" "$MB" <<'PY'
import json, random, sys
random.seed(1)
words = ("the of and to in a is that for it as was with be by on not he this are or his from at which "
         "but have an they you were her she there been one all we their has would when if so no will "
         "café naïve über 東京 данные données").split()
target = int(sys.argv[2]) * 1_000_000
with open(sys.argv[1], "w") as f:
    n = size = 0
    while size < target:
        text = "\n".join(" ".join(random.choice(words) for _ in range(random.randint(20, 120))).capitalize() + "."
                         for _ in range(random.randint(1, 12)))
        line = json.dumps({"id": f"doc-{n}", "text": text, "source": "bench", "url": f"https://example.com/{n}",
                           "meta": {"score": round(random.random(), 4)}}, ensure_ascii=False) + "\n"
        f.write(line); size += len(line.encode()); n += 1
PY
  gzip -k -f "$OUT/docs.jsonl"
fi
size=$(stat -c %s "$OUT/docs.jsonl")
rate() { python3 -c "import sys; print(f'{$size/1e6/float(sys.argv[1]):.0f} MB/s')" "$1"; }
timeit() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); python3 -c "print($e-$s)"; }
median3() { local a b c; a=$(timeit "$@"); b=$(timeit "$@"); c=$(timeit "$@"); printf '%s\n%s\n%s\n' "$a" "$b" "$c" | sort -g | sed -n 2p; }
t_cat=$(median3 bash -c "cat $OUT/docs.jsonl | wc -l")
t_zcat=$(median3 bash -c "zcat $OUT/docs.jsonl.gz | wc -l")
t_plain1=$(median3 "$BIN/lathe" validate --kind document --jobs 1 --quiet "$OUT/docs.jsonl")
t_plain=$(median3 "$BIN/lathe" validate --kind document --quiet "$OUT/docs.jsonl")
t_gz=$(median3 "$BIN/lathe" validate --kind document --quiet "$OUT/docs.jsonl.gz")
rss=$( { /usr/bin/time -f %M "$BIN/lathe" validate --kind document --quiet "$OUT/docs.jsonl.gz" >/dev/null; } 2>&1 | tail -1)
echo "input: $((size / 1000000)) MB of document records (uncompressed size used for every rate)"
echo "cat | wc -l                       $(rate "$t_cat")"
echo "zcat | wc -l                      $(rate "$t_zcat")"
echo "lathe validate, plain, 1 job      $(rate "$t_plain1")"
echo "lathe validate, plain, all cores  $(rate "$t_plain")"
echo "lathe validate, gzip              $(rate "$t_gz")   ($(python3 -c "print(f'{$t_zcat/$t_gz:.0%}')") of zcat)"
echo "peak RSS (gzip run)               $((rss / 1024)) MB"
