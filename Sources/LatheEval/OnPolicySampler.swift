import LatheData
import LatheIO
import LatheModel

/// N responses per prompt sampled from a policy and scored by a reward model: the candidates
/// that lathe-pair-prefs --policy pairs best against worst, for iterative DPO without people.
public final class OnPolicySampler {
    public let policy: LoadedCheckpoint
    public let judge: RewardJudge
    public let template: ChatTemplate?
    public let samples: Int
    public let sampling: SamplingOptions

    public init(policy: LoadedCheckpoint, judge: RewardJudge, template: ChatTemplate?, samples: Int, sampling: SamplingOptions) throws {
        guard samples >= 2 else { throw IOFailure("--samples is \(samples); pairing needs at least 2 responses per prompt") }
        guard policy.params.head == .languageModel else {
            throw IOFailure("\(policy.ref.path): a reward model (\(policy.params.head.architecture)); --policy needs a causal LM to sample from")
        }
        try policy.checkMarkers(of: template)
        (self.policy, self.judge, self.template, self.samples, self.sampling) = (policy, judge, template, samples, sampling)
    }

    /// A candidates record {id, prompt, responses: [{content, score}], source} for the prompt
    /// numbered `index` in the input. Its samples draw from streams derived from (seed, index,
    /// sample), so a prompt's responses do not depend on the prompts around it.
    public func candidates(id: String, prompt: String, index: Int) throws -> JSONValue {
        let tokens = Responses.promptTokens(.text(prompt), template: template, tokenizer: policy.tokenizer, bos: policy.bos)
        var options = sampling
        var mix = SplitMix64(seed: sampling.seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        options.seed = mix.next()
        let responses = try Responses.generate(policy, prompts: Array(repeating: tokens, count: samples), options: options,
                                               slots: samples, source: "prompt \(id)").map(\.text)
        let rewards = judge.rewards(prompts: responses.map { _ in .text(prompt) }, responses: responses)
        return .object(JSONObject([
            ("id", .string(id)),
            ("prompt", .string(prompt)),
            ("responses", .array(zip(responses, rewards).map { response, reward in
                .object(JSONObject([("content", .string(response)), ("score", JSONNumber(reward).map(JSONValue.number) ?? .null)]))
            })),
            ("source", .string("on-policy")),
        ]))
    }
}
