import LatheIO
import LatheModel
import LatheTokenizer

/// The tokenizer a GGUF file stores, as the Tokenizer lathe-eval scores with and lathe-train
/// --init fine-tunes with.
public struct ImportedTokenizer {
    public let tokenizer: Tokenizer
    /// Its `tokenizer.json` form: checkpoints whose keys are equal share tokenised eval sets.
    public let json: [UInt8]
    /// The token llama.cpp puts before every sequence when `tokenizer.ggml.add_bos_token` is set.
    public let bos: Int32?

    /// Reads the `tokenizer.ggml.*` metadata of the GGUF file at `path`, or an error naming the
    /// file and what is wrong.
    public init(path: String) throws {
        let file: GGUFFile, stored: GGUFTokenizer
        do {
            file = try GGUFFile(path: path)
            stored = try file.tokenizer()
        } catch { throw IOFailure(error.message) }
        do { tokenizer = try Tokenizer(json: try JSONParser.parse(stored.json)) } catch {
            throw IOFailure("\(file.path): the tokenizer stored in the file cannot be read: \(error)")
        }
        json = stored.json
        guard stored.addBOS else {
            bos = nil
            return
        }
        guard let id = stored.specialIds["bos"], id < tokenizer.vocabSize else {
            throw IOFailure("\(file.path): tokenizer.ggml.add_bos_token is set but tokenizer.ggml.bos_token_id is "
                + "missing or outside the vocabulary; the file is inconsistent")
        }
        bos = Int32(id)
    }
}
