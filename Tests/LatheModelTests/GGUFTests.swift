import Foundation
import Testing
@testable import LatheModel
import LatheIO
import LatheTokenizer

/// Writes GGUF v3 bytes field by field, following the format description, for files the tests
/// make themselves (independent of GGUFFile's reader).
struct GGUFBytes {
    var metadata: [(String, GGUFValue)] = []
    /// Entries written with an explicit value type code and payload, for the types `metadata` does not pick.
    var rawMetadata: [(key: String, type: UInt32, payload: [UInt8])] = []
    var tensors: [(name: String, dims: [Int], type: UInt32, bytes: [UInt8])] = []
    var version: UInt32 = 3
    var alignment = 32

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    static func string(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }

    static func typeCode(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .unsigned: 4
        case .signed: 5
        case .float: 6
        case .bool: 7
        case .string: 8
        case .array: 9
        }
    }

    static func payload(_ v: GGUFValue) -> [UInt8] {
        switch v {
        case .unsigned(let x): le(UInt32(x))
        case .signed(let x): le(Int32(x))
        case .float(let x): le(Float(x).bitPattern)
        case .bool(let x): [x ? 1 : 0]
        case .string(let s): string(s)
        case .array(let a): le(a.first.map(typeCode) ?? 4) + le(UInt64(a.count)) + a.flatMap(payload)
        }
    }

    func bytes() -> [UInt8] {
        var out = Array("GGUF".utf8) + Self.le(version) + Self.le(UInt64(tensors.count))
        out += Self.le(UInt64(metadata.count + rawMetadata.count))
        for (key, value) in metadata { out += Self.string(key) + Self.le(Self.typeCode(value)) + Self.payload(value) }
        for entry in rawMetadata { out += Self.string(entry.key) + Self.le(entry.type) + entry.payload }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset = (offset + t.bytes.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            out += Self.string(t.name) + Self.le(UInt32(t.dims.count)) + t.dims.flatMap { Self.le(UInt64($0)) }
            out += Self.le(t.type) + Self.le(UInt64(o))
        }
        func pad() { out += [UInt8](repeating: 0, count: (out.count + alignment - 1) / alignment * alignment - out.count) }
        pad()
        for t in tensors {
            out += t.bytes
            pad()
        }
        return out
    }
}

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures/gguf")

private func half(_ x: Float) -> [UInt8] { GGUFBytes.le(Float16(x).bitPattern) }

/// One block of each type, encoded here from its layout with the values expected back.
private func handBlocks() -> [(type: GGMLType, bytes: [UInt8], expected: [Float])] {
    var blocks: [(GGMLType, [UInt8], [Float])] = []
    blocks.append((.f32, [Float(1.5), -2.25].flatMap { GGUFBytes.le($0.bitPattern) }, [1.5, -2.25]))
    blocks.append((.f16, [0x3C00, 0xC000, 0x3800, 0x7BFF].flatMap { GGUFBytes.le(UInt16($0)) }, [1, -2, 0.5, 65504]))
    blocks.append((.bf16, [0x3F80, 0xC040, 0x3E80].flatMap { GGUFBytes.le(UInt16($0)) }, [1, -3, 0.25]))
    // Q8_0: d = 0.5, q_j = j − 16
    blocks.append((.q8_0, half(0.5) + (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }, (0..<32).map { 0.5 * Float($0 - 16) }))
    // Q4_0: d = 2, byte j = j | (15 − j) << 4: element j is 2(j − 8), element j + 16 is 2(7 − j)
    let nibbles = (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }
    blocks.append((.q4_0, half(2) + nibbles, (0..<16).map { 2 * Float($0 - 8) } + (0..<16).map { 2 * Float(7 - $0) }))
    // Q4_1: d = 0.5, m = −1
    blocks.append((.q4_1, half(0.5) + half(-1) + nibbles,
                   (0..<16).map { 0.5 * Float($0) - 1 } + (0..<16).map { 0.5 * Float(15 - $0) - 1 }))
    // Q4_K: d = 1, dmin = 0.5; 6-bit scales and mins per 32 values; quant of value v is 7v mod 16
    let sc: [UInt8] = [1, 2, 3, 4, 17, 33, 50, 63], mn: [UInt8] = [0, 1, 2, 3, 20, 5, 40, 63]
    var packed = [UInt8](repeating: 0, count: 12)
    for j in 0..<4 {
        packed[j] = sc[j] | (sc[j + 4] >> 4) << 6
        packed[j + 4] = mn[j] | (mn[j + 4] >> 4) << 6
        packed[j + 8] = (sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4
    }
    var qs = [UInt8](repeating: 0, count: 128)
    for v in 0..<256 {
        let q = UInt8(v * 7 % 16), chunk = v / 64, within = v % 64
        qs[32 * chunk + within % 32] |= within < 32 ? q : q << 4
    }
    blocks.append((.q4_K, half(1) + half(0.5) + packed + qs,
                   (0..<256).map { v in Float(sc[v / 32]) * Float(v * 7 % 16) - 0.5 * Float(mn[v / 32]) }))
    // Q6_K: d = 0.25, int8 scales i − 8; quant of value v is 5v mod 64, stored with offset 32
    var ql = [UInt8](repeating: 0, count: 128), qh = [UInt8](repeating: 0, count: 64)
    var q6Expected = [Float](repeating: 0, count: 256)
    for v in 0..<256 {
        let q = v * 5 % 64, half = v / 128, k = (v % 128) / 32, l = v % 32
        let lowIndex = 64 * half + l + (k % 2 == 1 ? 32 : 0)
        ql[lowIndex] |= k < 2 ? UInt8(q & 0xF) : UInt8(q & 0xF) << 4
        qh[32 * half + l] |= UInt8(q >> 4) << (2 * k)
        q6Expected[v] = 0.25 * Float(8 * half + l / 16 + 2 * k - 8) * Float(q - 32)
    }
    blocks.append((.q6_K, ql + qh + (0..<16).map { UInt8(bitPattern: Int8($0 - 8)) } + half(0.25), q6Expected))
    return blocks
}

@Suite("GGUF") struct GGUFTests {
    @Test func dequantisesHandWrittenBlocksOfEveryType() throws {
        let blocks = handBlocks()
        var file = GGUFBytes()
        file.metadata = [("general.alignment", .unsigned(64)), ("lathe.note", .array([.string("a"), .string("b")]))]
        file.alignment = 64
        for b in blocks { file.tensors.append(("t.\(b.type)", [b.expected.count], b.type.rawValue, b.bytes)) }
        let gguf = try GGUFFile(data: Data(file.bytes()))
        #expect(gguf.alignment == 64 && gguf["lathe.note"] == .array([.string("a"), .string("b")]))
        for b in blocks {
            #expect(b.bytes.count == b.type.blockBytes * b.expected.count / b.type.blockSize)
            #expect(try gguf.read("t.\(b.type)") == b.expected, "\(b.type)")
        }
    }

    // One value of each of GGUF's 13 value types, bytes written by hand.
    @Test func readsEveryMetadataValueType() throws {
        var file = GGUFBytes()
        file.rawMetadata = [
            ("u8", 0, [200]), ("i8", 1, [0xFE]), ("u16", 2, [0x34, 0x12]), ("i16", 3, [0xFF, 0xFF]),
            ("u32", 4, GGUFBytes.le(UInt32(70_000))), ("i32", 5, GGUFBytes.le(Int32(-5))),
            ("f32", 6, GGUFBytes.le(Float(0.1).bitPattern)), ("bool", 7, [1]), ("str", 8, GGUFBytes.string("héllo")),
            ("arr", 9, GGUFBytes.le(UInt32(2)) + GGUFBytes.le(UInt64(2)) + [7, 0, 9, 0]),
            ("u64", 10, GGUFBytes.le(UInt64(1) << 40)), ("i64", 11, GGUFBytes.le(Int64(-1) << 40)),
            ("f64", 12, GGUFBytes.le(Double(2.5).bitPattern)),
        ]
        let gguf = try GGUFFile(data: Data(file.bytes()))
        #expect(gguf.metadata.map(\.key) == file.rawMetadata.map(\.key))
        #expect(gguf["u8"] == .unsigned(200) && gguf["i8"] == .signed(-2) && gguf["u16"] == .unsigned(0x1234))
        #expect(gguf["i16"] == .signed(-1) && gguf["u32"] == .unsigned(70_000) && gguf["i32"]?.int == -5)
        #expect(gguf["f32"] == .float(0.1) && gguf["bool"] == .bool(true) && gguf["str"] == .string("héllo"))
        #expect(gguf["arr"] == .array([.unsigned(7), .unsigned(9)]) && gguf["u64"]?.int == 1 << 40)
        #expect(gguf["i64"] == .signed(-(1 << 40)) && gguf["f64"]?.double == 2.5)
        var bad = GGUFBytes()
        bad.rawMetadata = [("x", 13, [0])]
        #expect(throws: GGUFError.self) { try GGUFFile(data: Data(bad.bytes())) }
    }

    @Test func rejectsBadFilesWithReasons() throws {
        func message(_ bytes: [UInt8]) -> String {
            do { _ = try GGUFFile(data: Data(bytes), path: "m.gguf"); return "" } catch { return error.message }
        }
        var good = GGUFBytes()
        good.tensors = [("w", [32], GGMLType.q8_0.rawValue, [UInt8](repeating: 0, count: 34))]
        #expect(message(Array("GGML".utf8) + good.bytes().dropFirst(4)).contains("not a GGUF file"))
        var v1 = good
        v1.version = 1
        #expect(message(v1.bytes()).contains("version 1 is not supported"))
        var q5 = good
        q5.tensors[0].type = 6
        #expect(message(q5.bytes()).contains("ggml type 6"))
        #expect(message(Array(good.bytes().dropLast(40))).contains("truncated"))
        #expect(message(Array(good.bytes().prefix(30))).contains("truncated"))
        var odd = good
        odd.tensors[0].dims = [33]
        #expect(message(odd.bytes()).contains("not a multiple"))

        var gpt2 = good
        gpt2.metadata = [("general.architecture", .string("gpt2"))]
        let file = try GGUFFile(data: Data(gpt2.bytes()), path: "g.gguf")
        #expect(throws: GGUFError.self) { try file.llamaConfig() }
        do { _ = try file.llamaConfig() } catch { #expect(error.message.contains("architecture \"gpt2\" is not supported")) }
    }

    @Test func unpermutingUndoesLlamaCppsRotaryPermutation() {
        let heads = 3, hs = 4, c = 2
        let hf = (0..<(heads * hs * c)).map { Float($0) }
        // llama.cpp's converter: rows of a head viewed as (2, hs/2) are transposed to (hs/2, 2)
        var permuted = hf
        for h in 0..<heads { for j in 0..<2 { for i in 0..<hs / 2 { for col in 0..<c {
            permuted[(h * hs + 2 * i + j) * c + col] = hf[(h * hs + j * hs / 2 + i) * c + col]
        } } } }
        permuted.withUnsafeMutableBufferPointer {
            GGUFFile.unpermuteRotaryRows($0.baseAddress!, heads: heads, headDim: hs, columns: c)
        }
        #expect(permuted == hf)
    }

    // Hugging Face parameters written as an F32 GGUF v2 the way llama.cpp's converter lays them out
    // (GGUF names, Q/K rows permuted, no output.weight when tied) read back unchanged.
    @Test(arguments: [true, false]) func parametersRoundTripThroughLlamaCppLayout(tied: Bool) throws {
        let config = LlamaConfig(vocabSize: 12, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, ropeTheta: 500, rmsNormEps: 1e-6,
                                 maxPositionEmbeddings: 40, tieWordEmbeddings: tied)
        let params = LlamaParameters(config: config, seed: 3)
        var file = GGUFBytes()
        file.version = 2
        file.metadata = [("general.architecture", .string("llama")), ("llama.embedding_length", .unsigned(16)),
                         ("llama.feed_forward_length", .unsigned(24)), ("llama.block_count", .unsigned(2)),
                         ("llama.attention.head_count", .unsigned(4)), ("llama.attention.head_count_kv", .unsigned(2)),
                         ("llama.rope.freq_base", .float(500)), ("llama.attention.layer_norm_rms_epsilon", .float(1e-6)),
                         ("llama.context_length", .unsigned(40)), ("llama.vocab_size", .unsigned(12))]
        for (gguf, hf) in GGUFFile.huggingFaceNames(config) {
            let view = params.views.first { $0.name == hf }!
            var values = Array(params[hf])
            if gguf.hasSuffix("attn_q.weight") || gguf.hasSuffix("attn_k.weight") {
                let hs = config.headDim, rows = view.shape[0], c = view.shape[1], original = values
                for r in 0..<rows {
                    let h = r / hs, i = (r % hs) / 2, j = r % 2
                    for col in 0..<c { values[r * c + col] = original[(h * hs + j * hs / 2 + i) * c + col] }
                }
            }
            file.tensors.append((gguf, view.shape.reversed(), GGMLType.f32.rawValue, values.flatMap { GGUFBytes.le($0.bitPattern) }))
        }
        let gguf = try GGUFFile(data: Data(file.bytes()))
        #expect(gguf.version == 2)
        #expect(try gguf.llamaConfig() == config)
        let loaded = try gguf.llamaParameters()
        for view in params.views { #expect(Array(loaded[view.name]) == Array(params[view.name]), "\(view.name)") }
        file.tensors.removeAll { $0.name == "blk.1.ffn_up.weight" }
        #expect(throws: GGUFError.self) { try GGUFFile(data: Data(file.bytes())).llamaParameters() }
    }

    // The fixture from scripts/make_gguf_fixture.py: config, dequantisation against gguf-py's,
    // and logits against a numpy forward that reads the file the way llama.cpp does.
    @Test func tinyLlamaFixtureMatchesNumpyForward() throws {
        let gguf = try GGUFFile(path: fixtures.appendingPathComponent("tiny-llama.gguf").path)
        let expected = try JSONParser.parse(String(contentsOf: fixtures.appendingPathComponent("tiny-llama.expected.json"), encoding: .utf8))
        let config = try gguf.llamaConfig()
        #expect(config == LlamaConfig(vocabSize: 269, hiddenSize: 64, intermediateSize: 256, numHiddenLayers: 2,
                                      numAttentionHeads: 4, numKeyValueHeads: 2, ropeTheta: 10_000, rmsNormEps: 1e-5,
                                      maxPositionEmbeddings: 64, tieWordEmbeddings: false))
        for (typeName, entry) in expected["first_block"]!.object! {
            let values = try gguf.read(entry["tensor"]!.string!)
            let reference = entry["values"]!.array!.map { Float($0.double!) }
            #expect(Array(values.prefix(reference.count)) == reference, "\(typeName)")
        }
        let params = try gguf.llamaParameters()
        let tokens = expected["tokens"]!.array!.map { Int32($0.int!) }
        let model = Llama(params: params, maxBatch: 1, maxSeq: tokens.count)
        model.forward(tokens: tokens, batch: 1, seq: tokens.count)
        var worst: Float = 0
        for (t, row) in expected["logits"]!.array!.enumerated() {
            for (j, value) in row.array!.enumerated() {
                let reference = Float(value.double!)
                worst = max(worst, abs(model.acts.logits[t * 269 + j] - reference) / max(1, abs(reference)))
            }
        }
        #expect(worst < 1e-4, "largest logit difference \(worst)")
    }

    @Test func tokenizerFollowsTheFilesPreTokenizer() throws {
        let gguf = try GGUFFile(path: fixtures.appendingPathComponent("tiny-llama.gguf").path)
        let stored = try gguf.tokenizer()
        #expect(stored.preTokenizer == "smollm" && stored.specialIds == ["bos": 266, "eos": 268] && !stored.addBOS)
        #expect(stored.chatTemplate?.contains("<|im_start|>") == true)
        let smollm = try Tokenizer(json: try JSONParser.parse(stored.json))
        func ids(_ tokenizer: Tokenizer, _ text: String) -> [String] {
            tokenizer.encode(text, addSpecialTokens: false).map { tokenizer.idToToken($0)! }
        }
        // SmolLM's rule (llama.cpp's "smollm"): every digit alone, then GPT-2's regex.
        #expect(ids(smollm, "hello world 123<|im_end|>") == ["hello", "Ġworld", "Ġ", "1", "2", "3", "<|im_end|>"])
        #expect(smollm.decode(smollm.encode("hello world 123")) == "hello world 123")
        #expect(smollm.isSpecialToken(268))

        // The same vocabulary under GPT-2's rule keeps digits together, so the "1 2" merge applies.
        var gpt2 = GGUFBytes()
        gpt2.metadata = gguf.metadata.map { ($0.key, $0.key == "tokenizer.ggml.pre" ? .string("gpt2") : $0.value) }
            .filter { $0.0.hasPrefix("tokenizer.") }
        let other = try Tokenizer(json: try JSONParser.parse(try GGUFFile(data: Data(gpt2.bytes())).tokenizer().json))
        #expect(ids(other, "hello world 123") == ["hello", "Ġworld", "Ġ", "12", "3"])

        // add_bos_token becomes a template that puts the BOS id first.
        var withBOS = gpt2
        withBOS.metadata = withBOS.metadata.map { ($0.0, $0.0 == "tokenizer.ggml.add_bos_token" ? .bool(true) : $0.1) }
        let bosTokenizer = try Tokenizer(json: try JSONParser.parse(try GGUFFile(data: Data(withBOS.bytes())).tokenizer().json))
        #expect(bosTokenizer.encode("hello").map { bosTokenizer.idToToken($0)! } == ["<|endoftext|>", "hello"])

        var unknown = gpt2
        unknown.metadata = unknown.metadata.map { ($0.0, $0.0 == "tokenizer.ggml.pre" ? .string("mystery") : $0.1) }
        #expect(throws: GGUFError.self) { try GGUFFile(data: Data(unknown.bytes())).tokenizer() }

        // No pre-tokenizer name, or "default": llama.cpp's fallback rules, which Lathe refuses to guess at.
        var unnamed = gpt2
        unnamed.metadata.removeAll { $0.0 == "tokenizer.ggml.pre" }
        var named = gpt2
        named.metadata = named.metadata.map { ($0.0, $0.0 == "tokenizer.ggml.pre" ? .string("default") : $0.1) }
        for (file, says) in [(unnamed, "tokenizer.ggml.pre is missing"), (named, "tokenizer.ggml.pre is \"default\"")] {
            #expect { try GGUFFile(data: Data(file.bytes()), path: "old.gguf").tokenizer() } throws: { error in
                "\(error)".hasPrefix("old.gguf: " + says) && "\(error)".contains("re-convert")
            }
        }
    }
}
