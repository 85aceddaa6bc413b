#!/usr/bin/env python3
"""The reference run for bench/dedupe.sh: datasketch's MinHashLSH (num_perm 128, threshold
0.8) over the same word 5-gram shingles of lower-cased, whitespace-split text, streaming
with keep-first (query, then insert every document so chains are found as lathe-dedupe
finds them). Writes the removed ids, one per line, and prints seconds and documents/s.
Usage: dedupe_datasketch.py corpus.jsonl removed.txt"""
import json, sys, time
from datasketch import MinHash, MinHashLSH

def shingles(words, n=5):
    if len(words) < n:
        return [" ".join(words).encode()] if words else []
    return [" ".join(words[i:i + n]).encode() for i in range(len(words) - n + 1)]

def main():
    start = time.time()
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    removed, docs = [], 0
    with open(sys.argv[1]) as f:
        for line in f:
            record = json.loads(line)
            docs += 1
            m = MinHash(num_perm=128, seed=1)
            m.update_batch(shingles(record["text"].lower().split()))
            if lsh.query(m):
                removed.append(record["id"])
            lsh.insert(record["id"], m)
    seconds = time.time() - start
    with open(sys.argv[2], "w") as out:
        out.write("\n".join(removed) + "\n")
    print("datasketch: %d documents in %.1f s (%.0f docs/s), %d removed" % (docs, seconds, docs / seconds, len(removed)))

if __name__ == "__main__":
    main()
