#!/usr/bin/env python3
"""Reference run for bench/extract.sh: trafilatura over PAGES/*/<id>.html into OUT/<id>.txt."""
import os, sys, glob
import trafilatura

pages, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
for path in sorted(glob.glob(os.path.join(pages, '*', '*.html'))):
    with open(path, encoding='utf-8', errors='replace') as f:
        text = trafilatura.extract(f.read()) or ''
    with open(os.path.join(out, os.path.basename(path)[:-5] + '.txt'), 'w', encoding='utf-8') as g:
        g.write(text)
