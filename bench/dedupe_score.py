#!/usr/bin/env python3
"""Precision, recall and F1 of a removed set (ids, one JSON record per line with "id", or a
plain list of ids) against truth.json from dedupe_corpus.py.
Usage: dedupe_score.py truth.json removed.jsonl [label]"""
import json, sys

def main():
    truth = set(json.load(open(sys.argv[1]))["removed"])
    removed = set()
    for line in open(sys.argv[2]):
        line = line.strip()
        if line:
            removed.add(json.loads(line)["id"] if line.startswith("{") else line)
    tp = len(removed & truth)
    precision = tp / len(removed) if removed else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    label = sys.argv[3] if len(sys.argv) > 3 else "result"
    print("%s: removed %d, truth %d, precision %.4f, recall %.4f, F1 %.4f" % (label, len(removed), len(truth), precision, recall, f1))

if __name__ == "__main__":
    main()
