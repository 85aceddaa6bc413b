"""Helper for bench/filters_agreement.sh: builds test texts, runs datatrove's filters on them,
and compares datatrove's keep/drop decisions with Lathe's.

  python filters_agreement.py texts  EXTRACT_DEV_TAR_GZ OUT.jsonl [WET_FILE ...]
  python filters_agreement.py datatrove TEXTS.jsonl OUT.jsonl
  python filters_agreement.py compare DATATROVE.jsonl LATHE.jsonl
"""
import gzip
import html.parser
import json
import sys
import tarfile


class _Text(html.parser.HTMLParser):
    """Every text node outside script/style, a line per block: boilerplate-heavy page text."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
              "header", "footer", "nav", "ul", "ol", "table", "pre", "blockquote", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "noscript"):
            self.skip += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "noscript") and self.skip:
            self.skip -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(" ".join(data.split()) if data.strip() else "")

    def text(self):
        lines = [" ".join(l.split()) for l in "".join(self.parts).split("\n")]
        return "\n".join(l for l in lines if l)


def build_texts(tar_path, out_path, wet_paths):
    docs = []
    with tarfile.open(tar_path) as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if not m.isfile() or "/pages/" not in m.name:
                continue
            raw = tar.extractfile(m).read()
            name = m.name.split("/pages/")[1]
            if name.endswith(".txt"):
                text = raw.decode("utf-8", "replace")
                docs.append({"id": "truth/" + name, "text": text})
                # The first 12 lines: short documents near the word-count and sentence thresholds.
                docs.append({"id": "head/" + name, "text": "\n".join(text.split("\n")[:12])})
            elif name.endswith(".html"):
                p = _Text()
                try:
                    p.feed(raw.decode("utf-8", "replace"))
                    docs.append({"id": "page/" + name, "text": p.text()})
                except Exception:
                    pass
    for wet in wet_paths:
        with gzip.open(wet, "rb") as f:
            data = f.read().decode("utf-8", "replace")
        for i, rec in enumerate(data.split("WARC/1.0\r\n")):
            if "WARC-Type: conversion" in rec:
                body = rec.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in rec else ""
                docs.append({"id": f"wet/{i}", "text": body.strip()})
    with open(out_path, "w") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    print(f"{len(docs)} texts, {sum(len(d['text']) for d in docs) / 1e6:.1f} M characters", file=sys.stderr)


def run_datatrove(texts_path, out_path):
    from datatrove.data import Document
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    def decide(f, doc):
        try:
            r = f.filter(doc)
        except ZeroDivisionError:
            return "error"
        if isinstance(r, tuple):
            return r[1] if not r[0] else "keep"
        return "keep" if r else "drop"

    single = {
        "gopher_quality": GopherQualityFilter,
        "gopher_repetition": GopherRepetitionFilter,
        "c4_quality": C4QualityFilter,
        "fineweb_quality": FineWebQualityFilter,
    }
    chain = [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(filter_no_terminal_punct=False),
             FineWebQualityFilter()]
    with open(texts_path) as f, open(out_path, "w") as out:
        for line in f:
            d = json.loads(line)
            row = {"id": d["id"]}
            for name, cls in single.items():
                row[name] = decide(cls(), Document(text=d["text"], id=d["id"]))
            doc = Document(text=d["text"], id=d["id"])
            verdict = "keep"
            for flt in chain:
                verdict = decide(flt, doc)
                if verdict != "keep":
                    break
            row["fineweb"] = verdict
            row["fineweb_text"] = doc.text if verdict == "keep" else None
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def compare(dt_path, lathe_path):
    dt = {r["id"]: r for r in map(json.loads, open(dt_path))}
    lt = {r["id"]: r for r in map(json.loads, open(lathe_path))}
    ids = [i for i in dt if i in lt]
    print(f"{len(ids)} texts compared")
    print(f"{'filter':<20} {'keep/drop agree':>16} {'same reason':>12} {'datatrove drops':>16}")
    for name in ["gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality", "fineweb"]:
        agree = sum((dt[i][name] == "keep") == (lt[i][name] == "keep") for i in ids)
        same = sum(dt[i][name] == lt[i][name] for i in ids)
        drops = sum(dt[i][name] != "keep" for i in ids)
        print(f"{name:<20} {agree / len(ids):>15.1%} {same / len(ids):>11.1%} {drops:>16}")
    same_text = sum(dt[i]["fineweb_text"] == lt[i].get("fineweb_text") for i in ids
                    if dt[i]["fineweb"] == "keep" and lt[i]["fineweb"] == "keep")
    both = sum(dt[i]["fineweb"] == "keep" and lt[i]["fineweb"] == "keep" for i in ids)
    print(f"fineweb kept texts identical: {same_text}/{both}")
    shown = 0
    for i in ids:
        for name in ["gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality"]:
            if dt[i][name] != lt[i][name] and shown < 25:
                print(f"  differs {name:<18} {i[:40]:<40} datatrove={dt[i][name]} lathe={lt[i][name]}")
                shown += 1


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "texts":
        build_texts(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "datatrove":
        run_datatrove(sys.argv[2], sys.argv[3])
    elif cmd == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
