#!/usr/bin/env python3
"""Builds the lathe-dedupe benchmark corpus: documents of 100-2,000 words of Zipf-distributed
synthetic vocabulary, with planted near-duplicates (word substitutions and deletions, added
boilerplate lines, reordered paragraphs, exact copies) whose word-5-gram Jaccard with every
other member of their family is computed exactly.

Writes corpus.jsonl ({"id", "text", "source"}) and truth.json: the ids that a perfect deduplicator
keeping the first copy removes at Jaccard >= THRESHOLD (a document is removed when some
earlier document has Jaccard >= THRESHOLD with it), plus the planted pairs' Jaccard values.
Tokens are lower-case words split on whitespace, what `--normalize full` gives for this text.
Usage: dedupe_corpus.py OUT_DIR [--docs N] [--seed S] [--threshold T]
"""
import argparse, bisect, itertools, json, math, os, random

def build_vocabulary(rng, size):
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + ["th", "ch", "st", "ng"]
    words, seen = [], set()
    while len(words) < size:
        w = "".join(rng.choice(syllables) for _ in range(rng.choice((1, 2, 2, 3, 3, 4))))
        if w not in seen:
            seen.add(w)
            words.append(w)
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) ** 1.05 for rank in range(size)))
    return words, cumulative

def sample_words(rng, vocab, n):
    words, cumulative = vocab
    total = cumulative[-1]
    return [words[bisect.bisect_left(cumulative, rng.random() * total)] for _ in range(n)]

def original(rng, vocab):
    length = int(math.exp(rng.uniform(math.log(100), math.log(2000))))
    paragraphs, left = [], length
    while left > 0:
        n = min(left, rng.randint(40, 160))
        paragraphs.append(sample_words(rng, vocab, n))
        left -= n
    return paragraphs

BOILERPLATE = [
    "subscribe to our newsletter for the latest updates and offers",
    "this website uses cookies to improve your experience on our site",
    "all rights reserved reproduction without permission is prohibited",
    "click here to share this article with your friends and family",
    "related posts you may also like from the same category",
]

def variant(rng, vocab, paragraphs):
    """One planted near-duplicate: a random mix of edits of random strength."""
    out = [list(p) for p in paragraphs]
    kind = rng.choice(["exact", "substitute", "delete", "boilerplate", "reorder", "mixed", "mixed"])
    if kind == "exact":
        return out, kind
    if kind in ("substitute", "mixed"):
        rate = rng.uniform(0.002, 0.06)
        for p in out:
            for i in range(len(p)):
                if rng.random() < rate:
                    p[i] = sample_words(rng, vocab, 1)[0]
    if kind in ("delete", "mixed"):
        rate = rng.uniform(0.002, 0.05)
        out = [[w for w in p if rng.random() >= rate] or p[:1] for p in out]
    if kind in ("boilerplate", "mixed"):
        for _ in range(rng.randint(1, 3)):
            line = rng.choice(BOILERPLATE).split()
            out.insert(0 if rng.random() < 0.5 else len(out), line)
    if kind in ("reorder", "mixed") and len(out) > 1:
        i, j = rng.sample(range(len(out)), 2)
        out[i], out[j] = out[j], out[i]
    return out, kind

def shingles(words, n=5):
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}

def jaccard(a, b):
    return len(a & b) / len(a | b) if a or b else 0.0

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--docs", type=int, default=50000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threshold", type=float, default=0.8)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    vocab = build_vocabulary(rng, 40000)
    docs = []  # (family, paragraphs, kind)
    family = 0
    while len(docs) < args.docs:
        base = original(rng, vocab)
        docs.append((family, base, "original"))
        texts = [base]
        if rng.random() < 0.3:
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                # A copy of the original or of the latest copy, so chains occur too.
                source = rng.choice(texts[-2:])
                docs.append((family, *variant(rng, vocab, source)))
                texts.append(docs[-1][1])
        family += 1
    docs = docs[:args.docs]
    rng.shuffle(docs)
    os.makedirs(args.out, exist_ok=True)
    members = {}
    with open(os.path.join(args.out, "corpus.jsonl"), "w") as f:
        for i, (fam, paragraphs, kind) in enumerate(docs):
            doc_id = "d%06d" % i
            text = "\n\n".join(" ".join(p) for p in paragraphs)
            f.write(json.dumps({"id": doc_id, "text": text, "source": "bench"}) + "\n")
            members.setdefault(fam, []).append((i, doc_id, shingles(text.split()), kind))
    removed, pairs = [], []
    for fam, group in members.items():
        for k, (i, doc_id, s, kind) in enumerate(group):
            best = 0.0
            for (_, other_id, t, _) in group[:k]:
                j = jaccard(s, t)
                pairs.append(round(j, 4))
                best = max(best, j)
            if best >= args.threshold:
                removed.append(doc_id)
    with open(os.path.join(args.out, "truth.json"), "w") as f:
        json.dump({"threshold": args.threshold, "docs": len(docs), "removed": sorted(removed),
                   "planted_pair_jaccard": sorted(pairs)}, f)
    near = sum(1 for j in pairs if 0.6 <= j < args.threshold)
    print("corpus: %d documents, %d families with copies, %d to remove at J>=%.2f, %d planted pairs in [0.6, %.2f)"
          % (len(docs), sum(1 for g in members.values() if len(g) > 1), len(removed), args.threshold, near, args.threshold))

if __name__ == "__main__":
    main()
