import Foundation
import Testing
import LatheIO
import LatheModel
import LatheTensor

private func scratchDirectory() -> String {
    let path = NSTemporaryDirectory() + "lathe-model-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("Safetensors") struct SafetensorsTests {
    // Bytes written by hand: an 8-byte length, a header padded with spaces, then
    // F32 [1, -2.5], BF16 [1, -0.5] and F16 [[1, 65504]] little-endian.
    @Test func readsAHandMadeFile() throws {
        var header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"c":{"dtype":"F16","shape":[1,2],"data_offsets":[12,16]}}"#
        while header.utf8.count % 8 != 0 { header += " " }
        var bytes: [UInt8] = [UInt8(header.utf8.count), 0, 0, 0, 0, 0, 0, 0] + Array(header.utf8)
        bytes += [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0]  // 1.0f, -2.5f
        bytes += [0x80, 0x3F, 0x00, 0xBF]                          // bf16 1.0, -0.5
        bytes += [0x00, 0x3C, 0xFF, 0x7B]                          // f16 1.0, 65504
        let dir = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/hand.safetensors"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))

        let file = try SafetensorsFile(contentsOf: path)
        #expect(file.metadata == ["format": "pt"])
        #expect(file.entries["c"]?.shape == [1, 2])
        #expect(try file.floats("a") == [1, -2.5])
        #expect(try file.floats("b") == [1, -0.5])
        #expect(try file.floats("c") == [1, 65504])
    }

    @Test func rejectsATruncatedFile() throws {
        let dir = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/short.safetensors"
        FileManager.default.createFile(atPath: path, contents: Data([200, 0, 0, 0, 0, 0, 0, 0, 0x7B]))
        #expect(throws: IOFailure.self) { try SafetensorsFile(contentsOf: path) }
    }

    @Test func roundTripsEveryBit() throws {
        let dir = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a: [Float] = [0, -0, 1, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .pi, -1e-30]
        let b: [Float] = (0..<12).map { Float($0) / 7 }
        let path = dir + "/t.safetensors"
        try a.withUnsafeBufferPointer { pa in try b.withUnsafeBufferPointer { pb in
            try SafetensorsFile.write([.init(name: "z.b", shape: [3, 4], values: pb), .init(name: "a", shape: [7], values: pa)],
                                      metadata: ["who": "lathe"], to: path)
        } }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(data[0]) | Int(data[1]) << 8
        #expect(headerLength % 8 == 0)
        #expect(data.count == 8 + headerLength + 4 * (a.count + b.count))
        let file = try SafetensorsFile(contentsOf: path)
        #expect(try file.floats("a").map(\.bitPattern) == a.map(\.bitPattern))
        #expect(try file.floats("z.b") == b)
        #expect(file.entries["z.b"]?.shape == [3, 4])
        #expect(file.metadata == ["who": "lathe"])
    }
}

@Suite("Checkpoint") struct CheckpointTests {
    @Test(arguments: [false, true]) func loadsWhatItWrote(tied: Bool) throws {
        let dir = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let params = LlamaParameters(config: microConfig(tied: tied), seed: 5)
        let path = dir + "/ckpt"
        try Checkpoint.writeDirectory(path, files: [
            Checkpoint.File(name: Checkpoint.configFile, bytes: try Checkpoint.configJSON(params.config, bosTokenId: nil, eosTokenId: 3)),
            Checkpoint.weightsFile(params),
        ])
        // Writing again replaces the directory whole.
        try Checkpoint.writeDirectory(path, files: [
            Checkpoint.File(name: Checkpoint.configFile, bytes: try Checkpoint.configJSON(params.config, bosTokenId: nil, eosTokenId: 3)),
            Checkpoint.weightsFile(params),
        ])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["ckpt"])
        let file = try SafetensorsFile(contentsOf: path + "/model.safetensors")
        #expect((file.entries["lm_head.weight"] != nil) == !tied)
        let loaded = try Checkpoint.loadParameters(from: path)
        #expect(loaded.config == params.config)
        #expect(Array(loaded.flat) == Array(params.flat))
        let config = try JSONParser.parse(Array(FileManager.default.contents(atPath: path + "/config.json")!))
        #expect(config["architectures"] == ["LlamaForCausalLM"])
        #expect(config["eos_token_id"] == 3)
        #expect(config["tie_word_embeddings"] == .bool(tied))
    }

    @Test func namesTheMissingOrMisshapedTensor() throws {
        let dir = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let params = LlamaParameters(config: microConfig(tied: true), seed: 5)
        var untied = params.config
        untied.tieWordEmbeddings = false
        let path = dir + "/ckpt"
        // Weights of a tied model under an untied config: lm_head.weight is missing.
        try Checkpoint.writeDirectory(path, files: [
            Checkpoint.File(name: Checkpoint.configFile, bytes: try Checkpoint.configJSON(untied, bosTokenId: nil, eosTokenId: nil)),
            Checkpoint.weightsFile(params),
        ])
        let missing = #expect(throws: IOFailure.self) { try Checkpoint.loadParameters(from: path) }
        #expect(missing?.message.contains("model.safetensors: tensor lm_head.weight is missing") == true)

        var wider = params.config
        wider.intermediateSize += 2
        try Checkpoint.writeDirectory(path, files: [
            Checkpoint.File(name: Checkpoint.configFile, bytes: try Checkpoint.configJSON(wider, bosTokenId: nil, eosTokenId: nil)),
            Checkpoint.weightsFile(params),
        ])
        let misshaped = #expect(throws: IOFailure.self) { try Checkpoint.loadParameters(from: path) }
        #expect(misshaped?.message.contains("tensor model.layers.0.mlp.gate_proj.weight has shape [12, 8]; config.json implies [14, 8]") == true)
    }
}
