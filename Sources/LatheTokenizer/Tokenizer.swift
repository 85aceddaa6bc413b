import LatheIO
import Synchronization

/// What was wrong with a tokenizer file or a training request.
public struct TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A byte-level BPE tokenizer: the GPT-2 family, including Llama 3, SmolLM2 and Qwen2 style
/// pre-tokenisation, read from and written to Hugging Face `tokenizer.json`.
///
/// Encoding runs as `tokenizers` does: added tokens are cut out of the raw text first (the
/// longest at the leftmost position; never split), the rest goes through the pre-tokeniser
/// steps, and each pre-token through byte-pair merging; with `addSpecialTokens` the post
/// processor's template (a BOS token, say) wraps the result. Ids are those `tokenizers` gives.
///
/// Immutable after loading and safe to share between threads; each call borrows a scratch
/// state with its own word cache from a small pool.
public final class Tokenizer: Sendable {
    let model: BPEModel
    public let addedTokens: [AddedToken]
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    let pipeline: PreTokenizerPipeline
    /// Ids the post-processor puts before and after a single sequence.
    let templatePrefix: [Int32]
    let templateSuffix: [Int32]
    /// Each id's spelling: the added token's content, else the model vocabulary's.
    let tokens: [String?]
    /// The bytes each id decodes to, concatenated; id k's are `decodedBytes[decodedStarts[k]..<decodedStarts[k+1]]`.
    let decodedBytes: [UInt8]
    let decodedStarts: [Int]
    let isSpecial: [Bool]
    /// The file's own sections, written back unchanged by `jsonBytes()`.
    let sections: Sections

    struct Sections: Sendable {
        var version: JSONValue = "1.0"
        var truncation: JSONValue = nil
        var padding: JSONValue = nil
        var normalizer: JSONValue = nil
        var preTokenizer: JSONValue
        var postProcessor: JSONValue
        var decoder: JSONValue
        var modelOptions: JSONObject
    }

    private let pool = Mutex<[EncoderState]>([])

    init(model: BPEModel, addedTokens: [AddedToken], steps: [PreTokenizerStep], templatePrefix: [Int32],
         templateSuffix: [Int32], sections: Sections) throws(TokenizerError) {
        self.model = model
        self.addedTokens = addedTokens
        rawMatcher = AddedTokenMatcher(addedTokens.filter { !$0.normalized })
        normalizedMatcher = AddedTokenMatcher(addedTokens.filter { $0.normalized })
        pipeline = PreTokenizerPipeline(steps: steps)
        self.templatePrefix = templatePrefix
        self.templateSuffix = templateSuffix
        self.sections = sections

        var size = 0
        for id in model.vocab.values { size = max(size, Int(id) + 1) }
        for token in addedTokens {
            guard token.id >= 0 else { throw TokenizerError("added token '\(token.content)' has a negative id \(token.id)") }
            size = max(size, Int(token.id) + 1)
        }
        var tokens = [String?](repeating: nil, count: size)
        var special = [Bool](repeating: false, count: size)
        for (token, id) in model.vocab { tokens[Int(id)] = token }
        for token in addedTokens {
            tokens[Int(token.id)] = token.content
            special[Int(token.id)] = token.special
        }
        self.tokens = tokens
        isSpecial = special
        // `tokenizers`' ByteLevel decoder maps a token's scalars back to bytes when every one
        // of them is in the byte table and otherwise emits the token's own UTF-8; added
        // tokens go through the same rule.
        var bytes: [UInt8] = []
        var starts: [Int] = [0]
        starts.reserveCapacity(size + 1)
        for token in tokens {
            if let token {
                if let raw = ByteLevel.decode(token) { bytes.append(contentsOf: raw) } else { bytes.append(contentsOf: token.utf8) }
            }
            starts.append(bytes.count)
        }
        decodedBytes = bytes
        decodedStarts = starts
    }

    /// One more than the largest id: the row count an embedding table needs.
    public var vocabSize: Int { tokens.count }

    public func tokenToId(_ token: String) -> Int32? {
        if let added = addedTokens.last(where: { $0.content == token }) { return added.id }
        return model.vocab[token]
    }

    public func idToToken(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count else { return nil }
        return tokens[Int(id)]
    }

    public func isSpecialToken(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < isSpecial.count && isSpecial[Int(id)]
    }

    // MARK: Encoding

    /// The ids of `text`. `addSpecialTokens` applies the post-processor's template, as the
    /// argument of the same name in `tokenizers` does (and defaults the same way).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.utf8.count / 3 + 4)
        encode(text, addSpecialTokens: addSpecialTokens, into: &out)
        return out
    }

    /// Appends the ids of `text` to `out`.
    public func encode(_ text: String, addSpecialTokens: Bool = true, into out: inout [Int32]) {
        withState { state in encode(text, addSpecialTokens, state, &out) }
    }

    /// Lends a scratch state from the pool; concurrent callers each get their own.
    func withState<R>(_ body: (EncoderState) -> R) -> R {
        let state = pool.withLock { $0.popLast() } ?? EncoderState()
        defer { pool.withLock { if $0.count < 16 { $0.append(state) } } }
        return body(state)
    }

    private func encode(_ text: String, _ addSpecialTokens: Bool, _ state: EncoderState, _ out: inout [Int32]) {
        if addSpecialTokens { out.append(contentsOf: templatePrefix) }
        state.buffer.removeAll(keepingCapacity: true)
        state.buffer.append(contentsOf: text.utf8)
        let n = state.buffer.count
        if n > 0 {
            state.parts.removeAll(keepingCapacity: true)
            state.buffer.withUnsafeBufferPointer { rawMatcher.split($0.baseAddress!, 0..<n, into: &state.parts) }
            for part in state.parts {
                if part.id >= 0 {
                    out.append(part.id)
                } else if normalizedMatcher.isEmpty {
                    encodeText(part.range, state, &out)
                } else {
                    // No normalizer is supported, so the normalised text is the raw text.
                    state.normalizedParts.removeAll(keepingCapacity: true)
                    state.buffer.withUnsafeBufferPointer {
                        normalizedMatcher.split($0.baseAddress!, part.range, into: &state.normalizedParts)
                    }
                    for inner in state.normalizedParts {
                        if inner.id >= 0 { out.append(inner.id) } else { encodeText(inner.range, state, &out) }
                    }
                }
            }
        }
        if addSpecialTokens { out.append(contentsOf: templateSuffix) }
    }

    private func encodeText(_ range: Range<Int>, _ state: EncoderState, _ out: inout [Int32]) {
        state.pieces.removeAll(keepingCapacity: true)
        state.pieces.append(range)
        pipeline.run(&state.buffer, &state.pieces, &state.scratchPieces, &state.marks)
        let pieces = state.pieces
        state.buffer.withUnsafeBufferPointer { b in
            let p = b.baseAddress!
            for piece in pieces {
                model.tokenize(p + piece.lowerBound, piece.count, state, &out)
            }
        }
    }

    /// Calls `body` with each pre-token of the text outside added tokens: what the BPE model
    /// would see. The trainer counts words with it.
    func preTokenize(_ text: String, _ state: EncoderState, _ body: (UnsafePointer<UInt8>, Int) -> Void) {
        state.buffer.removeAll(keepingCapacity: true)
        state.buffer.append(contentsOf: text.utf8)
        let n = state.buffer.count
        guard n > 0 else { return }
        state.parts.removeAll(keepingCapacity: true)
        state.buffer.withUnsafeBufferPointer { rawMatcher.split($0.baseAddress!, 0..<n, into: &state.parts) }
        for part in state.parts where part.id < 0 {
            state.pieces.removeAll(keepingCapacity: true)
            state.pieces.append(part.range)
            pipeline.run(&state.buffer, &state.pieces, &state.scratchPieces, &state.marks)
            let pieces = state.pieces
            state.buffer.withUnsafeBufferPointer { b in
                for piece in pieces { body(b.baseAddress! + piece.lowerBound, piece.count) }
            }
        }
    }

    // MARK: Decoding

    /// The exact bytes the ids stand for. Ids may end or begin inside a multi-byte character;
    /// concatenating the bytes of consecutive runs gives the bytes of the whole. Unknown ids
    /// are skipped, as `tokenizers` skips them.
    public func decodeBytes(_ ids: some Sequence<Int32>, skipSpecialTokens: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        decodeBytes(ids, skipSpecialTokens: skipSpecialTokens, into: &out)
        return out
    }

    public func decodeBytes(_ ids: some Sequence<Int32>, skipSpecialTokens: Bool = false, into out: inout [UInt8]) {
        decodedBytes.withUnsafeBufferPointer { bytes in
            for id in ids {
                guard id >= 0, Int(id) < tokens.count else { continue }
                if skipSpecialTokens && isSpecial[Int(id)] { continue }
                let range = decodedStarts[Int(id)]..<decodedStarts[Int(id) + 1]
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
            }
        }
    }

    /// The text the ids stand for; bytes that do not form valid UTF-8 (a sequence cut inside
    /// a character) become U+FFFD, as `tokenizers`' lossy decoding does.
    public func decode(_ ids: some Sequence<Int32>, skipSpecialTokens: Bool = false) -> String {
        String(decoding: decodeBytes(ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }

    /// The bytes of one id, empty for an unknown id.
    public func tokenBytes(_ id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < tokens.count else { return [] }
        return Array(decodedBytes[decodedStarts[Int(id)]..<decodedStarts[Int(id) + 1]])
    }
}
