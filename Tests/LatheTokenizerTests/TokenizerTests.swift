import LatheIO
import Testing
@testable import LatheTokenizer

/// A small trained tokenizer shared by the tests below.
let trainingCorpus: [String] = {
    let lines = [
        "The quick brown fox jumps over the lazy dog, and the dog doesn't mind.",
        "We'll train tokenizers on text: numbers 12345, accents café naïve, CJK 東京は日本の首都です.",
        "Emoji 😀👍🏽 and 👨‍👩‍👧‍👦 families, Arabic مرحبا بالعالم, Russian Москва.",
        "def f(x):\n\treturn x * 2  # code with tabs\r\n",
    ]
    return (0..<50).flatMap { k in lines.map { "\($0) \(k)" } }
}()

let trainedVocabSize = 450

let trained: Tokenizer = {
    var trainer = try! BPETrainer(vocabSize: trainedVocabSize)
    trainer.add(contentsOf: trainingCorpus)
    return try! trainer.train()
}()

/// The pieces the pre-tokeniser cuts `text` into, as text.
func preTokens(_ tokenizer: Tokenizer, _ text: String) -> [String] {
    var pieces: [String] = []
    tokenizer.withState { state in
        tokenizer.preTokenize(text, state) { p, n in
            pieces.append(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        }
    }
    return pieces
}

@Suite struct RoundTripTests {
    @Test(arguments: ["trained"] + goldenTokenizers.keys.sorted())
    func everySingleByteHasATokenThatDecodesToIt(_ name: String) throws {
        let tokenizer = try #require(name == "trained" ? trained : goldenTokenizers[name])
        for b in 0...255 {
            let id = try #require(tokenizer.tokenToId(ByteLevel.encode([UInt8(b)])), "byte \(b)")
            #expect(tokenizer.decodeBytes([id]) == [UInt8(b)])
        }
    }

    @Test(arguments: ["trained"] + goldenTokenizers.keys.sorted())
    func textsOfEveryByteRoundTrip(_ name: String) throws {
        let tokenizer = try #require(name == "trained" ? trained : goldenTokenizers[name])
        // Every ASCII byte alone, then scalars that use every UTF-8 lead byte (0xC2-0xF4) and
        // every continuation byte (0x80-0xBF).
        var texts = (0..<128).map { String(Unicode.Scalar(UInt8($0))) }
        texts.append(String(String.UnicodeScalarView((0x80...0x7FF).compactMap(Unicode.Scalar.init))))
        texts.append(String(String.UnicodeScalarView(stride(from: 0x800, to: 0x10000, by: 0x3F).compactMap(Unicode.Scalar.init))))
        texts.append(String(String.UnicodeScalarView(stride(from: 0x10000, to: 0x110000, by: 0x1001).compactMap(Unicode.Scalar.init))))
        var covered = Set<UInt8>()
        for text in texts {
            covered.formUnion(text.utf8)
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            let expected = name == "gpt2-prefix-style.json" && text.utf8.first != 0x20 ? Array((" " + text).utf8) : Array(text.utf8)
            #expect(tokenizer.decodeBytes(ids) == expected)
        }
        #expect(covered.count == 256 - 13)  // All but 0xC0, 0xC1 and 0xF5-0xFF, which UTF-8 never uses.
    }

    @Test func idsThatSplitACharacterDecodeToItsExactBytes() throws {
        let text = "a😀é東"
        let bytes = Array(text.utf8)
        // One id per byte: every cut between them falls inside some character but the first.
        let ids = try bytes.map { try #require(trained.tokenToId(ByteLevel.encode([$0]))) }
        for cut in 0...ids.count {
            let head = trained.decodeBytes(ids[..<cut]), tail = trained.decodeBytes(ids[cut...])
            #expect(head + tail == bytes)
            #expect(head == Array(bytes[..<cut]))
        }
        // A lone lead byte is not text: String decoding marks it, the bytes keep it.
        #expect(trained.decode(ids[..<2]) == "a\u{FFFD}")
        #expect(trained.decode(ids) == text)
        // The encoder's own ids for a rare emoji cut it in pieces too.
        let emoji = trained.encode("🦩", addSpecialTokens: false)
        #expect(emoji.count > 1)
        #expect(Array(emoji.map { trained.decodeBytes([$0]) }.joined()) == Array("🦩".utf8))
    }

    @Test func specialTokensAreNeverSplit() throws {
        let start = try #require(trained.tokenToId("<|im_start|>"))
        let end = try #require(trained.tokenToId("<|im_end|>"))
        let eot = try #require(trained.tokenToId("<|endoftext|>"))
        let pad = try #require(trained.tokenToId("<|pad|>"))
        let ids = trained.encode("<|im_start|>user\nhi<|im_end|>x<|endoftext|><|pad|><|pad|>")
        #expect(ids.first == start)
        #expect(ids.filter { $0 == end }.count == 1 && ids.filter { $0 == eot }.count == 1)
        #expect(Array(ids.suffix(2)) == [pad, pad])
        #expect(trained.decode(ids) == "<|im_start|>user\nhi<|im_end|>x<|endoftext|><|pad|><|pad|>")
        #expect(trained.decode(ids, skipSpecialTokens: true) == "user\nhix")
        // Broken markers stay text; a marker inside one is still found.
        let broken = trained.encode("<|im_start|<|im_end|>|>")
        #expect(!broken.contains(start) && broken.filter { $0 == end }.count == 1)
        #expect(trained.decode(broken) == "<|im_start|<|im_end|>|>")
    }

    @Test func encodingIsTheSameFromManyThreads() async {
        let texts = trainingCorpus
        let expected = texts.map { trained.encode($0) }
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 {
                group.addTask { texts.map { trained.encode($0) } == expected }
            }
            for await same in group { #expect(same) }
        }
    }
}

@Suite struct PreTokenizerTests {
    // Expected pieces are what Hugging Face `tokenizers` 0.23.3 gives for the same text.
    @Test func gpt2SplitsLikeOniguruma() throws {
        let t = trained
        #expect(preTokens(t, "a\u{85}\u{85}b") == ["a", "\u{85}", "\u{85}", "b"])
        #expect(preTokens(t, "a\u{1C}\u{1C}b") == ["a", "\u{1C}\u{1C}", "b"])
        #expect(preTokens(t, "x  \u{2028} y") == ["x", "  \u{2028}", " y"])
        #expect(preTokens(t, "x\u{301}\u{301}y") == ["x", "\u{301}\u{301}", "y"])
        #expect(preTokens(t, "Ⅻ½٣x") == ["Ⅻ½٣", "x"])
        #expect(preTokens(t, "I'll've 's 'S") == ["I", "'ll", "'ve", " '", "s", " '", "S"])
        #expect(preTokens(t, "a   b  ") == ["a", "  ", " b", "  "])
    }

    @Test func llama3SplitsLikeOniguruma() throws {
        let t = try #require(goldenTokenizers["llama3-style.json"])
        #expect(preTokens(t, "I'ſ HE'LL") == ["I", "'ſ", " HE", "'LL"])
        #expect(preTokens(t, "a \n\n  b\t\n x") == ["a", " \n\n", " ", " b", "\t\n", " x"])
        #expect(preTokens(t, "12345") == ["123", "45"])
    }

    @Test func digitsThenByteLevelGivesEachDigitAPiece() throws {
        let t = try #require(goldenTokenizers["smollm2-style.json"])
        #expect(preTokens(t, "ab12cd 345") == ["ab", "1", "2", "cd", " ", "3", "4", "5"])
    }

    @Test func prefixSpaceIsAddedToEachSegment() throws {
        let t = try #require(goldenTokenizers["gpt2-prefix-style.json"])
        #expect(preTokens(t, "hi<|endoftext|>there") == [" hi", " there"])
        #expect(preTokens(t, " hi") == [" hi"])
    }
}

@Suite struct TrainerTests {
    @Test func handCheckedTinyCorpus() throws {
        // Words: "aaab" and " aaab". Pair counts (a,a)=4, (a,b)=2, (Ġ,a)=1, so the first merge
        // is a+a. Then (aa,a)=2 and (a,b)=2 tie; ids a=101 and b=102 (4 specials + byte value)
        // are smaller than aa=260, so a+b comes next, then aa+ab=2. (Ġ,aaab)=1 is below the
        // minimum frequency of 2, so training stops with 263 tokens.
        var trainer = try BPETrainer(vocabSize: 300)
        trainer.add("aaab aaab")
        let t = try trainer.train()
        #expect(t.model.merges.map { "\($0.0) \($0.1)" } == ["a a", "a b", "aa ab"])
        #expect(t.vocabSize == 263)
        #expect(t.tokenToId("aa") == 260 && t.tokenToId("ab") == 261 && t.tokenToId("aaab") == 262)
        #expect(t.encode("aaab") == [262])
        #expect(t.tokenToId("Ġ") == Int32(4 + 32))
        #expect(t.encode(" aaab") == [36, 262])
        #expect(t.encode("aaaa") == [260, 260])
        #expect(t.tokenToId("<|endoftext|>") == 0 && t.tokenToId("<|pad|>") == 3)
        #expect(t.tokenToId("a") == 101)
    }

    @Test func vocabularyReachesTheTargetSize() throws {
        #expect(trained.vocabSize == trainedVocabSize)
        #expect(trained.model.merges.count == trainedVocabSize - 4 - 256)
    }

    @Test func specialTokensTakeNoPartInMerges() throws {
        var trainer = try BPETrainer(vocabSize: 400, minFrequency: 1)
        trainer.add(contentsOf: Array(repeating: "<|endoftext|><|im_start|><|im_end|>", count: 10))
        #expect(try trainer.train().model.merges.isEmpty)
    }

    @Test func trainingIsDeterministicAndShardable() throws {
        var a = try BPETrainer(vocabSize: trainedVocabSize)
        a.add(contentsOf: trainingCorpus)
        let first = try a.train().jsonBytes()
        #expect(try a.train().jsonBytes() == first)
        // Counting two halves apart and merging the counts gives the same tokenizer.
        var left = try BPETrainer(vocabSize: trainedVocabSize), right = try BPETrainer(vocabSize: trainedVocabSize)
        left.add(contentsOf: trainingCorpus[..<100])
        right.add(contentsOf: trainingCorpus[100...])
        left.merge(right)
        #expect(try left.train().jsonBytes() == first)
        #expect(first == trained.jsonBytes())
    }

    @Test func trainedTokenizerSurvivesTokenizerJSON() throws {
        let path = "/tmp/lathe-tokenizer-test-trained.json"
        try trained.write(to: path)
        let again = try Tokenizer(contentsOf: path)
        #expect(again.vocabSize == trained.vocabSize)
        #expect(again.jsonBytes() == trained.jsonBytes())
        for text in trainingCorpus + goldenCases.map(\.text) {
            #expect(again.encode(text) == trained.encode(text))
        }
        // The file is one the ecosystem reads: HF's top-level keys, a BPE model, pair merges.
        let json = try JSONParser.parse(try readFile(path))
        #expect(json.object?.keys == ["version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer",
                                      "post_processor", "decoder", "model"])
        #expect(json["model"]?["type"] == "BPE")
        #expect(json["model"]?["merges"]?.array?.first?.array?.count == 2)
        #expect(json["added_tokens"]?.array?.count == 4)
    }

    @Test func tooSmallAVocabularyIsRefused() {
        #expect(throws: TokenizerError.self) { try BPETrainer(vocabSize: 100) }
        #expect(throws: TokenizerError.self) { try BPETrainer(vocabSize: 300, specialTokens: ["a"]) }
    }
}

@Suite struct FileFormatTests {
    /// A hand-made model where "abc" is in the vocabulary but no merge builds it.
    func tiny(ignoreMerges: Bool, legacyMerges: Bool) throws -> Tokenizer {
        var vocab: [(String, JSONValue)] = (0..<256).map { (ByteLevel.encode([UInt8($0)]), .number(JSONNumber($0))) }
        vocab += [("ab", 256), ("abc", 257)]
        let merges: JSONValue = legacyMerges ? ["#version: 0.2", "a b"] : [["a", "b"]]
        let json: JSONValue = [
            "added_tokens": [], "normalizer": nil,
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
            "post_processor": nil, "decoder": ["type": "ByteLevel"],
            "model": ["type": "BPE", "ignore_merges": .bool(ignoreMerges), "vocab": .object(JSONObject(vocab)), "merges": merges],
        ]
        return try Tokenizer(json: json)
    }

    @Test func ignoreMergesTakesWholeWordsFromTheVocabulary() throws {
        #expect(try tiny(ignoreMerges: false, legacyMerges: false).encode("abc") == [256, 99])
        #expect(try tiny(ignoreMerges: true, legacyMerges: false).encode("abc") == [257])
        #expect(try tiny(ignoreMerges: false, legacyMerges: true).encode("abc ab") == [256, 99, 32, 256])
    }

    @Test(arguments: [
        ("model", #"{"type": "Unigram", "vocab": []}"#, "model type 'Unigram'"),
        ("pre_tokenizer", #"{"type": "Whitespace"}"#, "pre_tokenizer 'Whitespace'"),
        ("pre_tokenizer", #"{"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated", "invert": false}"#, "Split regex"),
        ("normalizer", #"{"type": "NFC"}"#, "normalizer 'NFC'"),
        ("decoder", #"{"type": "WordPiece"}"#, "decoder 'WordPiece'"),
        ("post_processor", #"{"type": "BertProcessing"}"#, "post_processor 'BertProcessing'"),
    ])
    func unsupportedKindsAreRefusedByName(_ section: String, _ replacement: String, _ message: String) throws {
        var json = try JSONParser.parse(try readFile(fixtures + "/smollm2-style.json"))
        json[section] = try JSONParser.parse(replacement)
        let error = try #require(throws: TokenizerError.self) { try Tokenizer(json: json) }
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test func mergeOfUnknownTokensIsRefused() throws {
        var json = try JSONParser.parse(try readFile(fixtures + "/smollm2-style.json"))
        var model = try #require(json["model"])
        model["merges"] = [["a", "zzz-not-a-token"]]
        json["model"] = model
        #expect(throws: TokenizerError.self) { try Tokenizer(json: json) }
    }
}

/// Throughput on real text, run by hand in a release build:
/// `LATHE_TOKENIZER_BENCH=file.txt swift test -c release --filter LatheTokenizerBench`.
@Suite struct LatheTokenizerBench {
    @Test(.enabled(if: getenv("LATHE_TOKENIZER_BENCH") != nil))
    func encodeThroughput() throws {
        let path = String(cString: getenv("LATHE_TOKENIZER_BENCH")!)
        let text = String(decoding: try readFile(path), as: UTF8.self)
        // Paragraphs stand in for documents.
        let docs = text.split(separator: "\n\n").map(String.init)
        let bytes = docs.reduce(0) { $0 + $1.utf8.count }
        let clock = ContinuousClock()

        var trainer = try BPETrainer(vocabSize: 8192)
        var tokenizer: Tokenizer!
        let trainTime = try clock.measure {
            trainer.add(contentsOf: docs)
            tokenizer = try trainer.train()
        }
        // CPU time of this thread as well as wall time: the machine is shared, and wall time
        // then measures the neighbours too.
        func cpuSeconds() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
        }
        var tokens = 0
        let cpu0 = cpuSeconds()
        let cold = clock.measure { for d in docs { tokens += tokenizer.encode(d, addSpecialTokens: false).count } }
        let cpu1 = cpuSeconds()
        let warm = clock.measure { for d in docs { _ = tokenizer.encode(d, addSpecialTokens: false) } }
        let cpu2 = cpuSeconds()
        var roundTrip = true
        let decode = clock.measure {
            for d in docs.prefix(2000) where tokenizer.decode(tokenizer.encode(d, addSpecialTokens: false)) != d { roundTrip = false }
        }
        func mbps(_ d: Duration) -> Double {
            Double(bytes) / 1e6 / (Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
        }
        print("bench: \(bytes) bytes, \(docs.count) docs, \(trainer.distinctWords) distinct words; train to 8192 in \(trainTime)")
        func f(_ x: Double) -> String { String(format: "%.1f", x) }
        print("bench: encode \(tokens) tokens (\(String(format: "%.2f", Double(bytes) / Double(tokens))) bytes/token), one thread: "
            + "cold cache \(f(mbps(cold))) MB/s wall, \(f(Double(bytes) / 1e6 / (cpu1 - cpu0))) MB/s of CPU; "
            + "warm \(f(mbps(warm))) MB/s wall, \(f(Double(bytes) / 1e6 / (cpu2 - cpu1))) MB/s of CPU; 2000-doc round trip \(decode)")
        #expect(roundTrip)
        // For comparing with Hugging Face `tokenizers` on the same file and documents.
        try tokenizer.write(to: "/tmp/lathe-bench-tokenizer.json")
        var lines: [UInt8] = []
        for d in docs {
            let ids = JSONValue.array(tokenizer.encode(d, addSpecialTokens: false).map { .number(JSONNumber(Int($0))) })
            JSONWriter.write(["text": .string(d), "ids": ids], into: &lines)
            lines.append(0x0A)
        }
        try writeFileAtomically("/tmp/lathe-bench-ids.jsonl", lines)
    }
}

#if canImport(Glibc)
import Glibc
#endif
