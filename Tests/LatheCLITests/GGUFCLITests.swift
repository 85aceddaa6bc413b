import Foundation
import Testing

/// The project's own tiny GGUF (scripts/make_gguf_fixture.py): a random Llama with tensors in
/// F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K and Q6_K, and a SmolLM-style tokenizer (digits split).
private let tinyGGUF = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures/gguf/tiny-llama.gguf").path

/// A new empty directory for one test's files.
private func scratchDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "lathe-gguf-cli-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("GGUF files through lathe-train --init and lathe-eval, end to end")
struct GGUFCLITests {
    /// A step at a learning rate of 1e-12 writes a checkpoint that lathe-eval scores as it scores
    /// the GGUF file itself (same dequantised weights, same tokenizer with its digit rule, saved
    /// as tokenizer.json); a short SFT run from the file lowers the loss on what it learns.
    @Test func fineTunesFromTheDequantisedWeightsAndTheFilesTokenizer() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Tool.script(#"""
            set -e
            cd "$1"
            gguf='\#(tinyGGUF)'
            for i in 1 2 3 4 5 6 7 8; do
              echo '{"id":"c'$i'","messages":[{"role":"user","content":"Where is cat 12?"},{"role":"assistant","content":"Cat 12 is on mat 345."}]}'
            done > chats.jsonl
            common="--objective sft --init $gguf --seq-len 48 --batch-size 2 --quiet chats.jsonl"
            lathe-eval "$gguf" --data chats.jsonl -o gguf.jsonl --quiet
            lathe-train run $common --steps 1 --lr 1e-12 --out same
            lathe-eval same --data chats.jsonl -o same.jsonl --quiet
            lathe-train run $common --steps 8 --lr 1e-2 --out tuned
            lathe-eval tuned --data chats.jsonl -o tuned.jsonl --quiet
            for i in 1 2 3 4; do
              echo '{"prompt":"Where is cat 12?","chosen":"Cat 12 is on mat 345.","rejected":"No idea."}'
            done > pairs.jsonl
            lathe-train run --objective dpo --init "$gguf" --ref "$gguf" --seq-len 63 --batch-size 2 --steps 2 --lr 1e-3 \
              --out dpo --quiet pairs.jsonl
            lathe-eval dpo --ref "$gguf" --data pairs.jsonl -o dpo.jsonl --quiet
            """#, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        func loss(_ name: String) throws -> Double {
            let line = try String(contentsOfFile: dir + "/" + name, encoding: .utf8).split(separator: "\n").last!
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(object["metric"] as? String == "loss")
            return object["value"] as! Double
        }
        let fromFile = try loss("gguf.jsonl"), same = try loss("same.jsonl"), tuned = try loss("tuned.jsonl")
        #expect(abs(same - fromFile) < 1e-4, "GGUF \(fromFile), checkpoint after a 1e-12 step \(same)")
        #expect(tuned < fromFile - 0.5, "GGUF \(fromFile), after 8 SFT steps \(tuned)")
        // DPO from the file against the file as reference: the implicit reward now prefers the chosen answers.
        let dpo = try String(contentsOfFile: dir + "/dpo.jsonl", encoding: .utf8)
        #expect(dpo.contains(#""metric":"reward_accuracy","value":1,"#), "\(dpo)")
        let saved = try String(contentsOfFile: dir + "/same/checkpoint-1/tokenizer.json", encoding: .utf8)
        #expect(saved.contains(#""individual_digits":true"#))
    }

    @Test func aGGUFThatCannotBeReadIsNamed() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/chats.jsonl", contents: Data(
            #"{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}"#.utf8 + [10]))
        FileManager.default.createFile(atPath: dir + "/notes.gguf", contents: Data("not a model\n".utf8))
        for (file, complaint) in [("nowhere.gguf", "cannot read"), ("notes.gguf", "not a GGUF file")] {
            let result = try Tool.run("lathe-train", ["run", "--objective", "sft", "--init", dir + "/" + file, "--steps", "1",
                                                      "--out", dir + "/run", dir + "/chats.jsonl"])
            #expect(result.status == 1)
            #expect(result.stderr.contains(dir + "/" + file + ": " + complaint), "\(result.stderr)")
        }
    }

    /// A GGUF of another architecture and one with a tensor type Lathe does not read, beside the
    /// good file: with --on-error skip the good one is evaluated and each bad one is a failed
    /// record naming the file and what is wrong.
    @Test func unsupportedGGUFFilesAreRecordedAndTheOthersEvaluated() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = try Data(contentsOf: URL(fileURLWithPath: tinyGGUF))
        func patched(_ bytes: Data, at marker: String, skip: Int, with new: [UInt8]) -> Data {
            var out = bytes
            let at = out.range(of: Data(marker.utf8))!.lowerBound + skip
            out.replaceSubrange(at..<at + new.count, with: new)
            return out
        }
        // general.architecture's value is the file's first "llama"; token_embd.weight's ggml type
        // follows its name, rank (u32) and two dimensions (u64): 8 (Q8_0) becomes 6 (Q5_0).
        try patched(good, at: "llama", skip: 0, with: Array("gemma".utf8)).write(to: URL(fileURLWithPath: dir + "/gemma.gguf"))
        try patched(good, at: "token_embd.weight", skip: 17 + 4 + 16, with: [6, 0, 0, 0])
            .write(to: URL(fileURLWithPath: dir + "/q5.gguf"))
        FileManager.default.createFile(atPath: dir + "/docs.jsonl", contents: Data(#"{"text":"hello world 123"}"#.utf8 + [10]))
        let result = try Tool.run("lathe-eval", [dir + "/gemma.gguf", tinyGGUF, dir + "/q5.gguf", "--data", dir + "/docs.jsonl",
                                                 "--on-error", "skip", "-o", dir + "/results.jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try String(contentsOfFile: dir + "/results.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0].contains(#""metric":"failed""#) && lines[0].contains(#"architecture \"gemma\" is not supported"#))
        #expect(lines[1].contains(#""metric":"perplexity""#) && lines[2].contains(#""metric":"bits_per_byte""#))
        #expect(lines[3].contains(#""metric":"failed""#) && lines[3].contains("tensor token_embd.weight has ggml type 6"))
        #expect(result.stderr.contains("FAILED: " + dir + "/gemma.gguf: architecture"))
    }
}
