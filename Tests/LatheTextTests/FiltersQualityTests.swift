import Testing
@testable import LatheText

// Each rule is tested at its threshold: the text exactly at the limit is kept, one step past
// it is dropped with datatrove's reason name. Rules other than the one under test are turned
// off through the config where a hand-built text would trip them.

/// `n` distinct plain words (`wa`, `wb`, ... then longer), none a stop word.
private func distinctWords(_ n: Int, length: Int = 5) -> [String] {
    let letters = Array("abcdefghijklmnopqrstuvwxyz")
    return (0..<n).map { i in
        var w = "w", k = i
        for _ in 0..<(length - 1) { w.append(letters[k % 26]); k /= 26 }
        return w
    }
}

private func cycle(_ words: [String], _ n: Int) -> String {
    (0..<n).map { words[$0 % words.count] }.joined(separator: " ")
}

@Suite struct FiltersTokenizerTests {
    @Test func splitsLikeSpacyEnglish() {
        let t = AnalyzedText("Mr. Smith doesn't like well-known e.g. U.S. rules, etc. (see example.com/x-y). I'm 10km away...")
        #expect(t.wordStrings == ["Mr.", "Smith", "does", "n't", "like", "well", "-", "known", "e.g.", "U.S.", "rules", ",",
                                  "etc", ".", "(", "see", "example.com/x-y", ")", ".", "I", "'m", "10", "km", "away", "..."])
    }

    @Test func keepsBareContractionWordsThatAreWords() {
        #expect(AnalyzedText("dont cant its were well lets").wordStrings == ["do", "nt", "ca", "nt", "its", "were", "well", "lets"])
    }

    @Test func countsSentencesLikeTheSentencizer() {
        let s = Array("Hello. World! ok?? \"Quote.\" Then e.g. this. 3.5 is fine".unicodeScalars.map(\.value))
        // spaCy: `Hello.` `World!` `ok?? "` `Quote."` `Then e.g. this.` `3.5 is fine`
        #expect(WordTokenizer.sentenceCount(s, Span(start: 0, end: s.count)) == 6)
    }
}

@Suite struct FiltersGopherQualityTests {
    let base = ["the", "quick", "brown", "fox", "and", "lazy", "dog", "with"]

    @Test func documentWordCount() {
        let f = GopherQualityFilter()
        #expect(f.check(cycle(base, 50)) == nil)
        #expect(f.check(cycle(base, 49)) == "gopher_short_doc")
        var c = GopherQualityFilter.Config()
        c.maxDocWords = 60
        #expect(GopherQualityFilter(c).check(cycle(base, 60)) == nil)
        #expect(GopherQualityFilter(c).check(cycle(base, 61)) == "gopher_long_doc")
    }

    @Test func punctuationTokensAreNotWordsForTheCount() {
        // 49 words and 10 commas: 59 tokens, but only 49 count.
        let text = cycle(base, 49).split(separator: " ").enumerated().map { $0.offset % 5 == 0 ? "\($0.element)," : String($0.element) }
        #expect(GopherQualityFilter().check(text.joined(separator: " ")) == "gopher_short_doc")
    }

    @Test func meanWordLength() {
        let f = GopherQualityFilter()
        // 25 x "of" + 25 x "with": mean 3.0; one more "of": 2.96.
        #expect(f.check(cycle(["of", "with"], 50)) == nil)
        #expect(f.check((Array(repeating: "of", count: 26) + Array(repeating: "with", count: 24)).joined(separator: " "))
                == "gopher_below_avg_threshold")
        // "the"/"and" with 17 letters: mean 10.0; with 18 letters: 10.5.
        #expect(f.check(cycle(["the", "abcdefghijklmnopq", "and", "abcdefghijklmnopq"], 52)) == nil)
        #expect(f.check(cycle(["the", "abcdefghijklmnopqr", "and", "abcdefghijklmnopqr"], 52)) == "gopher_above_avg_threshold")
    }

    @Test func hashesPerWord() {
        let f = GopherQualityFilter()
        // "a#b" is one token: 10 of 100 words carry a hash, then 11.
        #expect(f.check(cycle(base, 90) + " " + cycle(["a#b"], 10)) == nil)
        #expect(f.check(cycle(base, 89) + " " + cycle(["a#b"], 11)) == "gopher_too_many_hashes")
    }

    @Test func ellipsesPerWord() {
        let f = GopherQualityFilter()
        // "so..." is two tokens: 10 ellipses in 80 + 20 tokens, then 11 in 78 + 22.
        #expect(f.check(cycle(["so..."], 10) + " " + cycle(base, 80)) == nil)
        #expect(f.check(cycle(["so..."], 11) + " " + cycle(base, 78)) == "gopher_too_many_ellipsis")
    }

    @Test func bulletLines() {
        let f = GopherQualityFilter()
        let line = cycle(base, 8)
        func doc(_ bullets: Int) -> String {
            (0..<20).map { $0 < bullets ? (($0 % 2 == 0) ? "- " : "  • ") + line : line }.joined(separator: "\n")
        }
        #expect(f.check(doc(18)) == nil)
        #expect(f.check(doc(19)) == "gopher_too_many_bullets")
    }

    @Test func ellipsisLines() {
        let f = GopherQualityFilter()
        let line = cycle(base, 8)
        func doc(_ n: Int) -> String {
            (0..<10).map { $0 < n ? line + ($0 % 2 == 0 ? "...  " : "…") : line }.joined(separator: "\n")
        }
        #expect(f.check(doc(3)) == nil)
        #expect(f.check(doc(4)) == "gopher_too_many_end_ellipsis")
    }

    @Test func wordsWithLetters() {
        let f = GopherQualityFilter()
        #expect(f.check(cycle(base, 80) + " " + cycle(["123"], 20)) == nil)
        #expect(f.check(cycle(base, 79) + " " + cycle(["123"], 21)) == "gopher_below_alpha_threshold")
    }

    @Test func stopWordsAreDistinctAndCaseSensitive() {
        let f = GopherQualityFilter()
        let words = ["quick", "brown", "fox", "lazy", "dog"]
        #expect(f.check(cycle(words, 60) + " the and") == nil)
        #expect(f.check(cycle(words, 60) + " the the the") == "gopher_enough_stop_words")
        #expect(f.check(cycle(words, 60) + " The And") == "gopher_enough_stop_words")
    }
}

@Suite struct FiltersGopherRepetitionTests {
    func only(_ edit: (inout GopherRepetitionFilter.Config) -> Void) -> GopherRepetitionFilter {
        var c = GopherRepetitionFilter.Config()
        c.dupLineFrac = nil; c.dupParaFrac = nil; c.dupLineCharFrac = nil; c.dupParaCharFrac = nil
        c.topNGrams = []; c.dupNGrams = []
        edit(&c)
        return GopherRepetitionFilter(c)
    }

    @Test func duplicateParagraphFraction() {
        let f = only { $0.dupParaFrac = 0.3 }
        let paras = distinctWords(10).map { "Paragraph \($0) here." }
        // 10 paragraphs of which 3 repeat an earlier one, then 4.
        let keep = paras[0..<7] + [paras[0], paras[1], paras[2]]
        let drop = paras[0..<6] + [paras[0], paras[1], paras[2], paras[3]]
        #expect(f.check(keep.joined(separator: "\n\n")) == nil)
        #expect(f.check(drop.joined(separator: "\n\n\n")) == "dup_para_frac")
    }

    @Test func duplicateParagraphCharacters() {
        let f = only { $0.dupParaCharFrac = 0.2 }
        let p = String(repeating: "x", count: 20)
        // 20 repeated characters in 100, then in 99.
        #expect(f.check(p + "\n\n" + p + "\n\n" + String(repeating: "y", count: 56)) == nil)
        #expect(f.check(p + "\n\n" + p + "\n\n" + String(repeating: "y", count: 55)) == "dup_para_char_frac")
    }

    @Test func duplicateLineFractionAndCharacters() {
        let lines = distinctWords(10)
        let f = only { $0.dupLineFrac = 0.3 }
        #expect(f.check((lines[0..<7] + lines[0..<3]).joined(separator: "\n")) == nil)
        #expect(f.check((lines[0..<6] + lines[0..<4]).joined(separator: "\n")) == "dup_line_frac")
        let g = only { $0.dupLineCharFrac = 0.2 }
        let l = String(repeating: "x", count: 20)
        #expect(g.check(l + "\n" + l + "\n" + String(repeating: "y", count: 58)) == nil)
        #expect(g.check(l + "\n" + l + "\n" + String(repeating: "y", count: 57)) == "dup_line_char_frac")
    }

    @Test func topTwoGramCharacters() {
        let f = only { $0.topNGrams = [.init(2, 0.2)] }
        // "ab cd" twice: 10 characters of 50, then of 49.
        func doc(_ total: Int) -> String {
            let fillerLength = total - 12
            return "ab cd " + "q" + String(repeating: "z", count: fillerLength - 1) + " ab cd"
        }
        #expect(doc(50).unicodeScalars.count == 50)
        #expect(f.check(doc(50)) == nil)
        #expect(f.check(doc(49)) == "top_2_gram")
    }

    @Test func duplicatedFiveGramCharacters() {
        let f = only { $0.dupNGrams = [.init(5, 0.15)] }
        // "aa b c d e" again: its 6 concatenated characters repeat, in 40 then 39.
        func doc(_ total: Int) -> String {
            let g = "aa b c d e"
            return g + " " + String(repeating: "z", count: total - 2 * g.count - 2) + " " + g
        }
        #expect(doc(40).unicodeScalars.count == 40)
        #expect(f.check(doc(40)) == nil)
        #expect(f.check(doc(39)) == "duplicated_5_n_grams")
    }

    @Test func defaultsKeepOrdinaryProse() {
        let prose = distinctWords(120).enumerated().map { $0.offset % 12 == 11 ? $0.element + "." : $0.element }
        #expect(GopherRepetitionFilter().check(prose.joined(separator: " ")) == nil)
    }
}

@Suite struct FiltersC4Tests {
    let sentence = "This line has words."

    func lines(_ n: Int) -> [String] { distinctWords(n).map { "The \($0) line has words." } }

    @Test func needsFiveSentences() {
        let f = C4QualityFilter()
        #expect(f.check(lines(5).joined(separator: "\n")) == nil)
        #expect(f.check(lines(4).joined(separator: "\n")) == "too_few_sentences")
        // Two sentences on one line count twice.
        #expect(f.check((lines(3) + ["One two three. Four five six."]).joined(separator: "\n")) == nil)
    }

    @Test func dropsLinesAndRewritesTheText() {
        let kept = lines(5)
        let noise: [String] = ["No terminal punctuation here", "Two words.", "Please enable JavaScript to view this.",
                               "We use cookies on this site.", "Trailing off like this..."]
        var all: [String] = []
        for i in 0..<5 {
            all.append(i == 2 ? kept[i] + "[1]" : kept[i])
            all.append(noise[i])
        }
        let doc = AnalyzedText(all.joined(separator: "\n"))
        let want: String = kept.joined(separator: "\n")
        #expect(C4QualityFilter().check(doc) == .rewrite(want))
    }

    @Test func withoutTerminalPunctuationRuleKeepsUnpunctuatedLines() {
        let text = (lines(5) + ["No terminal punctuation here"]).joined(separator: "\n")
        let f = C4QualityFilter(C4QualityFilter.Config(filterNoTerminalPunctuation: false))
        #expect(f.check(AnalyzedText(text)) == .keep)
    }

    @Test func dropsDocumentsForLoremIpsumAndCurlyBrackets() {
        let f = C4QualityFilter()
        #expect(f.check((lines(5) + ["Lorem Ipsum dolor sit amet."]).joined(separator: "\n")) == "lorem_ipsum")
        #expect(f.check((lines(5) + ["function body { return x; }."]).joined(separator: "\n")) == "curly_bracket")
        // A curly bracket on a line already dropped (too few words) does not count.
        #expect(f.check((lines(5) + ["{x}."]).joined(separator: "\n")) == nil)
    }

    @Test func dropsLinesWithOverlongWords() {
        let long = "Word " + String(repeating: "a", count: 1001) + " here."
        let ok = "Word " + String(repeating: "a", count: 1000) + " here."
        let f = C4QualityFilter()
        #expect(f.check(AnalyzedText((lines(4) + [long]).joined(separator: "\n"))) == .drop("too_few_sentences"))
        #expect(f.check(AnalyzedText((lines(4) + [ok]).joined(separator: "\n"))) == .keep)
    }
}

@Suite struct FiltersFineWebTests {
    let f = FineWebQualityFilter()
    /// Distinct lines over 30 characters with enough words.
    func long(_ n: Int, end: String) -> [String] { distinctWords(n).map { "A longer line with the word \($0)\(end)" } }

    @Test func linePunctuationRatio() {
        #expect(f.check((long(3, end: ".") + long(25, end: " ok").suffix(22)).joined(separator: "\n")) == nil)
        #expect(f.check((long(2, end: ".") + long(25, end: " ok").suffix(23)).joined(separator: "\n")) == "line_punct_ratio")
        var c = FineWebQualityFilter.Config()
        c.linePunctExcludeZero = true
        #expect(FineWebQualityFilter(c).check(long(25, end: " ok").joined(separator: "\n")) == nil)
    }

    @Test func shortLineRatio() {
        let short = distinctWords(100).map { "Short \($0) line." }  // 17 characters
        #expect(f.check((short.prefix(67) + long(100, end: ".").suffix(33)).joined(separator: "\n")) == nil)
        #expect(f.check((short.prefix(68) + long(100, end: ".").suffix(32)).joined(separator: "\n")) == "short_line_ratio")
    }

    @Test func duplicatedLineCharacters() {
        // One 40-character line repeated: 40 characters of 4000, then of 3999.
        let dup = "This exact line appears two times here."
        #expect(dup.count == 39)
        func doc(_ total: Int) -> String {
            var lines = [dup + "!", dup + "!"]
            var rest = total - 80
            for w in distinctWords(200) where rest > 0 {
                var line = "A longer line with the word \(w) and more."
                if rest - line.count < 40 { line += String(repeating: "z", count: rest - line.count) }
                lines.append(line)
                rest -= line.count
            }
            return lines.joined(separator: "\n")
        }
        #expect(doc(4000).unicodeScalars.filter { $0 != "\n" }.count == 4000)
        #expect(f.check(doc(4000)) == nil)
        #expect(f.check(doc(3999)) == "char_dup_ratio")
    }

    @Test func newlinesPerWord() {
        // Each line is 3 tokens (two words and a period); 9 newlines per 30 tokens, then 10.
        let lines = distinctWords(10, length: 12).map { "\($0) abcdefghijklmnopqrstuvw." }
        #expect(f.check(lines.joined(separator: "\n")) == nil)
        #expect(f.check(lines.joined(separator: "\n") + "\n") == "list_ratio")
    }

    @Test func emptyDocument() {
        #expect(f.check(" \n\n  ") == "empty")
    }
}

@Suite struct FiltersPresetTests {
    @Test func presetsListTheirFiltersInOrder() {
        #expect(FilterPreset.named("none")?.isEmpty == true)
        #expect(FilterPreset.named("gopher")?.map(\.name) == ["gopher_repetition", "gopher_quality"])
        #expect(FilterPreset.named("c4")?.map(\.name) == ["c4_quality"])
        #expect(FilterPreset.named("FineWeb")?.map(\.name) == ["gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"])
        #expect(FilterPreset.named("dolma") == nil)
    }

    @Test func laterFiltersSeeTheRewrittenText() {
        // 20 prose lines and 50 two-word menu lines: FineWeb alone drops it for short lines,
        // but in the chain C4 removes the menu lines first, so it is kept without them.
        let stop = ["the", "of", "and", "to", "with"]
        let words = distinctWords(400)
        var prose: [String] = []
        for i in 0..<20 {
            var line: [String] = []
            for j in 0..<10 { line.append(j % 3 == 0 ? stop[(i + j) % 5] : words[i * 10 + j]) }
            prose.append(line.joined(separator: " ") + ".")
        }
        let menu = (0..<50).map { "Menu \(words[200 + $0])" }
        var all: [String] = []
        for i in 0..<20 { all += [prose[i], menu[i]] }
        all += menu.suffix(30)
        let text = all.joined(separator: "\n")
        #expect(FineWebQualityFilter().check(text) == "short_line_ratio")
        let chain = FilterChain(FilterPreset.named("fineweb")!)
        #expect(chain.apply(text) == .keep(prose.joined(separator: "\n")))
        // As in datatrove, a tiny text is already a repetition: its one 2-gram is most of it.
        #expect(chain.apply("Too short.") == .drop(reason: "top_2_gram", filter: "gopher_repetition"))
        #expect(chain.apply(prose.prefix(4).joined(separator: "\n")) == .drop(reason: "gopher_short_doc", filter: "gopher_quality"))
    }
}
