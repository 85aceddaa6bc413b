import Foundation
import LatheIO
import LatheModel

/// Stops with the file named when `directory` holds a model of another kind than the causal
/// language model `option` needs (a reward model's LlamaForSequenceClassification has a score head
/// in place of lm_head). A config.json without `architectures` is taken as a causal LM.
func requireCausalLM(_ directory: String, option: String) throws {
    let path = directory + "/" + Checkpoint.configFile
    guard let bytes = FileManager.default.contents(atPath: path), let config = try? JSONParser.parse(Array(bytes)),
          let kinds = config["architectures"]?.array?.compactMap(\.string), !kinds.isEmpty else { return }
    guard !kinds.contains(where: { $0.hasSuffix("ForCausalLM") }) else { return }
    let reward = kinds.contains { $0.hasSuffix("ForSequenceClassification") }
    throw IOFailure("\(path): architectures is \(kinds.joined(separator: ", "))"
        + (reward ? ", a reward model (a score head, no language-model head)" : "")
        + "; \(option) needs a causal language model (LlamaForCausalLM), such as the SFT checkpoint"
        + (reward ? " the reward model started from" : ""))
}
