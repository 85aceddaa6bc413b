#!/usr/bin/env bash
# Agreement of Lathe's quality filters with datatrove's (GopherQuality, GopherRepetition,
# C4Quality, FineWebQuality, and FineWeb's chain of the four), on the same texts:
# ground-truth texts, their first 12 lines, and boilerplate-heavy page text from
# extract-dev.tar.gz, plus the WET records given. Also prints Lathe's filter throughput.
#
#   bench/filters_agreement.sh [EXTRACT_DEV_TAR_GZ] [WET_FILE ...]
#
# Installs datatrove (and spaCy, its English word tokenizer) from PyPI into bench/out/venv.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/extract-dev.tar.gz}
shift || true
WETS=("$@")
if [ ${#WETS[@]} -eq 0 ] && [ -f ../shared/data/warc-samples/commoncrawl-2024-22-one-page.warc.wet.gz ]; then
    WETS=(../shared/data/warc-samples/commoncrawl-2024-22-one-page.warc.wet.gz)
fi
OUT=bench/out
mkdir -p "$OUT/driver"

if [ ! -x "$OUT/venv/bin/python" ]; then python3 -m venv "$OUT/venv"; fi
"$OUT/venv/bin/python" -c "import datatrove, spacy, regex" 2>/dev/null ||
    "$OUT/venv/bin/pip" install -q datatrove spacy regex

PY="$OUT/venv/bin/python bench/filters_agreement.py"
# datatrove takes minutes on these texts; its decisions are kept until FRESH=1 asks again.
if [ -n "${FRESH:-}" ] || [ ! -s "$OUT/filters_datatrove.jsonl" ]; then
    $PY texts "$DATA" "$OUT/filters_texts.jsonl" "${WETS[@]}"
    $PY datatrove "$OUT/filters_texts.jsonl" "$OUT/filters_datatrove.jsonl"
fi

swift build -c release --target LatheText >/dev/null
BIN=$(swift build -c release --show-bin-path)
cat > "$OUT/driver/main.swift" <<'SWIFT'
import Foundation
import LatheText

let lines = try! String(contentsOfFile: CommandLine.arguments[1], encoding: .utf8).split(separator: "\n")
let docs = lines.map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
let single: [(String, any DocumentFilter)] = [
    ("gopher_quality", GopherQualityFilter()), ("gopher_repetition", GopherRepetitionFilter()),
    ("c4_quality", C4QualityFilter()), ("fineweb_quality", FineWebQualityFilter()),
]
let chain = FilterChain(FilterPreset.named("fineweb")!)
var out = ""
for d in docs {
    let text = d["text"] as! String
    var row: [String: Any] = ["id": d["id"]!]
    for (name, f) in single { row[name] = f.check(text) ?? "keep" }
    switch chain.apply(text) {
    case .keep(let t): row["fineweb"] = "keep"; row["fineweb_text"] = t
    case .drop(let reason, _): row["fineweb"] = reason
    }
    out += String(data: try! JSONSerialization.data(withJSONObject: row), encoding: .utf8)! + "\n"
}
try! out.write(toFile: CommandLine.arguments[2], atomically: true, encoding: .utf8)

// Throughput of the FineWeb chain (and language id) over the same texts, repeated to a few MB.
let texts = docs.map { $0["text"] as! String }
let bytes = texts.reduce(0) { $0 + $1.utf8.count }
func rate(_ label: String, _ body: (String) -> Void) {
    let start = Date()
    for t in texts { body(t) }
    let s = Date().timeIntervalSince(start)
    FileHandle.standardError.write("\(label): \(String(format: "%.1f", Double(bytes) / s / 1e6)) MB/s (\(texts.count) texts, \(bytes / 1000) kB, one core)\n".data(using: .utf8)!)
}
rate("fineweb chain") { _ = chain.apply($0) }
rate("gopher_repetition alone") { _ = GopherRepetitionFilter().check($0) }
rate("language id") { _ = LanguageIdentifier.shared.identify($0) }
let redactor = PIIRedactor()
rate("pii redaction") { _ = redactor.redact($0) }
SWIFT
OBJS=$(ls "$BIN"/LatheText.build/*.o "$BIN"/LatheIO.build/*.o)
swiftc -O -I "$BIN/Modules" -I Sources/CZlib -I Sources/CLibXML2 -I /usr/include/libxml2 "$OUT/driver/main.swift" $OBJS -lxml2 -lz -o "$OUT/driver/filters-driver" 2>&1 | grep -v warning || true
"$OUT/driver/filters-driver" "$OUT/filters_texts.jsonl" "$OUT/filters_lathe.jsonl"
$PY compare "$OUT/filters_datatrove.jsonl" "$OUT/filters_lathe.jsonl"
