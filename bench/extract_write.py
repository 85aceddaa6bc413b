#!/usr/bin/env python3
"""Writes each document of lathe-ingest's output (run over a directory of <page_id>.html files)
to OUT_DIR/<page_id>.txt, the layout the extraction scorer reads.

usage: extract_write.py DOCUMENTS.jsonl OUT_DIR
"""
import json, os, sys

docs, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
n = 0
with open(docs, encoding='utf-8') as f:
    for line in f:
        d = json.loads(line)
        path = (d.get('meta') or {}).get('path') or d.get('url') or ''
        page_id = os.path.basename(path).rsplit('.', 1)[0]
        with open(os.path.join(out, page_id + '.txt'), 'w', encoding='utf-8') as g:
            g.write(d['text'])
        n += 1
print(f'{n} pages written to {out}', file=sys.stderr)
