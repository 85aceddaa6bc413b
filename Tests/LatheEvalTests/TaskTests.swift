import Foundation
import LatheData
import LatheEval
import LatheIO
import LatheModel
import LatheTensor
import LatheTokenizer
import LatheTrain
import Testing

private func metric(_ results: [EvalResult], _ name: String) -> EvalResult {
    results.first { $0.metric == name }!
}

@Suite("LatheEval tasks against a plain reference path")
struct EvalTaskTests {
    @Test func lossIsMeanOverAssistantTokensOnly() throws {
        let tokenizer = try tinyTokenizer()
        let params = tinyParams(tokenizer, seed: 1)
        let dir = temporaryDirectory()
        let path = writeLines([
            #"{"id":"a","messages":[{"role":"user","content":"the cat"},{"role":"assistant","content":"sat on the mat"}]}"#,
            #"{"id":"b","prompt":"and the dog","completion":"ate the bone"}"#,
            #"{"id":"c","messages":[{"role":"system","content":"short"},{"role":"user","content":"cat?"},{"role":"assistant","content":"mat"},{"role":"user","content":"dog?"},{"role":"assistant","content":"bone"}]}"#,
        ], "chats.jsonl", in: dir)
        let set = try EvalSet.load(path: path)
        #expect(set.kind == .conversation)
        let results = try Evaluator(sets: [set], settings: EvalSettings()).evaluate(loaded(params, tokenizer)).results

        // By hand: the tokens counted are exactly the assistant's text and its end-of-turn marker.
        let first = ConversationTokens.encode(
            [ChatMessage(role: "user", content: "the cat"), ChatMessage(role: "assistant", content: "sat on the mat")],
            template: .chatml, tokenizer: tokenizer)
        let counted = zip(first.tokens, first.labelled).filter(\.1).map(\.0)
        #expect(tokenizer.decode(counted) == "sat on the mat<|im_end|>")

        var nll = 0.0, count = 0
        for item in set.items {
            guard case .conversation(let messages) = item.content else { Issue.record("not a conversation"); return }
            let c = ConversationTokens.encode(messages, template: .chatml, tokenizer: tokenizer)
            let lp = referenceLogProbs(params, c.tokens)
            for j in 0..<lp.count where c.labelled[j + 1] {
                nll -= lp[j]
                count += 1
            }
        }
        let loss = metric(results, "loss")
        #expect(abs(loss.value - nll / Double(count)) < 1e-4)
        #expect(loss.n == 3)
        #expect(loss.stderr != nil && loss.stderr! > 0)
        #expect(loss.task == "loss:chats")
    }

    @Test func perplexityAndBitsPerByteOfDocuments() throws {
        let tokenizer = try tinyTokenizer()
        let params = tinyParams(tokenizer, seed: 2)
        let dir = temporaryDirectory()
        let texts = ["the cat sat on the mat", "and the dog ate the bone, then the cat sat on the dog"]
        let path = writeLines(texts.map { #"{"text":"\#($0)"}"# }, "docs.jsonl", in: dir)
        let set = try EvalSet.load(path: path)
        let results = try Evaluator(sets: [set], settings: EvalSettings(seqLen: 256)).evaluate(loaded(params, tokenizer)).results

        let eot = tokenizer.tokenToId("<|endoftext|>")!
        var nll = 0.0, tokens = 0, bytes = 0
        for text in texts {
            let x = [eot] + tokenizer.encode(text, addSpecialTokens: false)
            nll -= referenceLogProbs(params, x).reduce(0, +)
            tokens += x.count - 1
            bytes += text.utf8.count
        }
        #expect(abs(metric(results, "perplexity").value - exp(nll / Double(tokens))) < 1e-3)
        #expect(abs(metric(results, "bits_per_byte").value - nll / log(2) / Double(bytes)) < 1e-4)
        #expect(metric(results, "perplexity").n == 2)
    }

    /// A document longer than --seq-len through the whole ppl task: lm-evaluation-harness's
    /// rolling windows by hand (window k predicts tokens 1 + 8k ..< 9 + 8k from at most 8
    /// inputs ending just before its last target), each scored by the plain forward.
    @Test func perplexityOfALongDocumentIsScoredInRollingWindows() throws {
        let tokenizer = try tinyTokenizer()
        let params = tinyParams(tokenizer, seed: 12)
        let text = "the cat sat on the mat and the dog ate the bone; answers are short, the cat sat on the dog"
        let set = try EvalSet.load(path: writeLines([#"{"text":"\#(text)"}"#], "long.jsonl", in: temporaryDirectory()))
        let results = try Evaluator(sets: [set], settings: EvalSettings(seqLen: 8)).evaluate(loaded(params, tokenizer)).results
        let x = [tokenizer.tokenToId("<|endoftext|>")!] + tokenizer.encode(text, addSpecialTokens: false)
        #expect(x.count - 1 > 2 * 8)   // three windows, the last one short
        var nll = 0.0
        for first in stride(from: 1, to: x.count, by: 8) {
            let end = min(first + 8, x.count), start = max(0, end - 1 - 8)
            let lp = referenceLogProbs(params, Array(x[start..<end]))   // lp[j] predicts x[start + j + 1]
            for j in lp.indices where start + j + 1 >= first { nll -= lp[j] }
        }
        let perplexity = results.first { $0.metric == "perplexity" }!
        #expect(abs(log(perplexity.value) - nll / Double(x.count - 1)) < 1e-4)
        #expect(perplexity.settings == "window=8 dtype=fp32")
        let bits = results.first { $0.metric == "bits_per_byte" }!.value
        #expect(abs(bits - nll / log(2) / Double(text.utf8.count)) < 1e-4)
    }

    @Test func rollingWindowsPredictEveryTokenOnceWithTheMostContextThatFits() throws {
        let tokenizer = try tinyTokenizer()
        let params = tinyParams(tokenizer, seed: 3)
        let x: [Int32] = (0..<40).map { Int32(($0 * 7 + 3) % tokenizer.vocabSize) }
        let w = 8
        let windows = EncodedSet.rollingWindows(x, length: w)
        var predicted: [Int] = []
        var start = 0
        for window in windows {
            #expect(window.inputs.count <= w)
            // the inputs are a contiguous slice of x; find where
            let lo = (0...(x.count - window.inputs.count)).first { Array(x[$0..<($0 + window.inputs.count)]) == window.inputs }!
            for (j, t) in window.targets.enumerated() where t >= 0 {
                #expect(t == x[lo + j + 1])
                predicted.append(lo + j + 1)
            }
            start += 1
        }
        #expect(predicted == Array(1..<x.count))
        #expect(windows.count == Int((Double(x.count - 1) / Double(w)).rounded(.up)))

        // Each window's score equals the plain path over the same slice, counting the new targets only.
        let scorer = SequenceScorer(params: params, batchSize: 4, maxSeq: w)
        let scores = scorer.score(windows)
        for (window, score) in zip(windows, scores) {
            let lp = referenceLogProbs(params, window.inputs + [window.targets.last!])
            let expected = zip(lp, window.targets).filter { $0.1 >= 0 }.map(\.0).reduce(0, +)
            #expect(abs(score - expected) < 1e-3)
        }
    }

    // With bf16 weights (widened, and on AMX tiles where the CPU has them) a row's products do not
    // depend on the rows beside it either: each activation row is rounded on its own.
    @Test(arguments: [InferenceWeights.Form.bf16Widened] + (BF16Matmul.usesAMX ? [.bf16Tiles] : []))
    func batchSizeOneAndEightGiveTheSameScoresWithBF16(form: InferenceWeights.Form) throws {
        let tokenizer = try tinyTokenizer()
        let weights = InferenceWeights(tinyParams(tokenizer, seed: 9), form: form)
        let sequences = (0..<13).map { k in
            let x: [Int32] = (0..<(3 + (k * 5) % 17)).map { Int32(($0 * 13 + k * 7) % tokenizer.vocabSize) }
            return ScoredSequence(inputs: Array(x.dropLast()), targets: Array(x.dropFirst()))
        }
        let one = SequenceScorer(weights: weights, batchSize: 1, maxSeq: 32).score(sequences)
        let eight = SequenceScorer(weights: weights, batchSize: 8, maxSeq: 32).score(sequences)
        for (a, b) in zip(one, eight) { #expect(abs(a - b) <= 1e-4 * max(1, abs(a)), "\(a) vs \(b)") }
    }

    @Test func preferenceAccuracyAndDPOImplicitReward() throws {
        let tokenizer = try tinyTokenizer()
        let policy = tinyParams(tokenizer, seed: 4), reference = tinyParams(tokenizer, seed: 5)
        let dir = temporaryDirectory()
        let pairs = [("the cat", "sat on the mat", "ate the bone"), ("the dog", "ate the bone", "sat"),
                     ("answers", "are short", "are long and the dog sat on the cat"), ("mat", "cat", "dog")]
        let path = writeLines(pairs.map { #"{"prompt":"\#($0.0)","chosen":"\#($0.1)","rejected":"\#($0.2)"}"# },
                              "pairs.jsonl", in: dir)
        let set = try EvalSet.load(path: path)
        let evaluator = Evaluator(sets: [set], settings: EvalSettings())
        evaluator.beta = 0.5
        try evaluator.setReference(loaded(reference, tokenizer, path: "ref"))
        let results = try evaluator.evaluate(loaded(policy, tokenizer)).results

        func logp(_ params: LlamaParameters, _ prompt: String, _ response: String) -> Double {
            let c = ConversationTokens.encode([ChatMessage(role: "user", content: prompt), ChatMessage(role: "assistant", content: response)],
                                              template: .chatml, tokenizer: tokenizer)
            let lp = referenceLogProbs(params, c.tokens)
            return (0..<lp.count).filter { c.labelled[$0 + 1] }.map { lp[$0] }.reduce(0, +)
        }
        var wins = 0, rewardWins = 0, margins: [Double] = []
        for (p, c, r) in pairs {
            let (pc, pr) = (logp(policy, p, c), logp(policy, p, r))
            if pc > pr { wins += 1 }
            let margin = 0.5 * ((pc - logp(reference, p, c)) - (pr - logp(reference, p, r)))
            margins.append(margin)
            if margin > 0 { rewardWins += 1 }
        }
        #expect(metric(results, "accuracy").value == Double(wins) / 4)
        #expect(metric(results, "reward_accuracy").value == Double(rewardWins) / 4)
        #expect(abs(metric(results, "reward_margin").value - margins.reduce(0, +) / 4) < 1e-3)
        let p = Double(wins) / 4
        #expect(metric(results, "accuracy").stderr == (p * (1 - p) / 3).squareRoot())
    }

    @Test func multipleChoiceAgainstFullForward() throws {
        let tokenizer = try tinyTokenizer()
        let params = tinyParams(tokenizer, seed: 6)
        let dir = temporaryDirectory()
        let path = writeLines([
            #"{"id":"q1","question":"where sat the cat?","choices":["on the mat","on the dog and the bone","bone"],"answer":0}"#,
            #"{"id":"q2","question":"what ate the dog?","choices":["the cat","the bone"],"answer":1}"#,
            #"{"id":"q3","question":"are answers short?","choices":["yes","no, they are long","sometimes"],"answer":0}"#,
        ], "mc.jsonl", in: dir)
        let set = try EvalSet.load(path: path)
        for (template, shots) in [(ChatTemplate?.none, 0), (ChatTemplate?.none, 1), (ChatTemplate?.some(.chatml), 2)] {
            let settings = EvalSettings(template: template, fewShot: shots)
            let results = try Evaluator(sets: [set], settings: settings).evaluate(loaded(params, tokenizer)).results
            let encoded = try EncodedSet(set, tokenizer: tokenizer, settings: settings)
            var acc = 0, accNorm = 0
            for (record, item) in zip(set.items, encoded.choices) {
                guard case .choice(_, let options, _) = record.content else { Issue.record("not a choice"); return }
                let ll = item.continuations.map { c in
                    let lp = referenceLogProbs(params, item.context + c)
                    return lp[(item.context.count - 1)...].reduce(0, +)
                }
                let norm = zip(ll, options).map { $0 / Double($1.count) }
                if ll.firstIndex(of: ll.max()!) == item.answer { acc += 1 }
                if norm.firstIndex(of: norm.max()!) == item.answer { accNorm += 1 }
            }
            #expect(metric(results, "acc").value == Double(acc) / 3)
            #expect(metric(results, "acc_norm").value == Double(accNorm) / 3)
            #expect(metric(results, "acc").settings == "chat_template=\(template?.rawValue ?? "off") few_shot=\(shots) dtype=fp32")
        }
        // By hand: without a template, the second question's one-shot context is the third question solved.
        let oneShot = try EncodedSet(set, tokenizer: tokenizer, settings: EvalSettings(template: nil, fewShot: 1))
        #expect(tokenizer.decode(oneShot.choices[1].context)
            == "Question: are answers short?\nAnswer: yes\n\nQuestion: what ate the dog?\nAnswer:")
        // acc_norm's lengths are the choices' own, without the joining space (lm-evaluation-harness's len(choice)).
        #expect(oneShot.choices[1].characters == [7, 8])
    }

    @Test func accAndAccNormDisagreeOnAConstructedItem() {
        // Choice 0: 20 characters at -10 in all (-0.5 per character); choice 1: 3 characters at -6 (-2 per character).
        let picks = ChoiceScoring.pick(logLikelihoods: [-10, -6], characters: [20, 3])
        #expect(picks.acc == 1)
        #expect(picks.accNorm == 0)
        #expect(ChoiceScoring.pick(logLikelihoods: [-1, -1], characters: [2, 2]) == (0, 0))
    }

    /// acc_norm divides by len(choice) as Python counts it: code points, so a decomposed accent
    /// (e + U+0301, one grapheme) counts twice and an emoji with a skin tone (one grapheme) twice;
    /// the space joining the choice to "Answer:" is not counted, with or without a template.
    @Test func accNormCountsCharactersAsPythonDoes() throws {
        let tokenizer = try tinyTokenizer()
        let dir = temporaryDirectory()
        let path = writeLines([#"{"id":"q","question":"which?","choices":["cafe\u0301","\ud83d\udc4d\ud83c\udffd ok"],"answer":0}"#],
                              "mc.jsonl", in: dir)
        let set = try EvalSet.load(path: path)
        let plain = try EncodedSet(set, tokenizer: tokenizer, settings: EvalSettings(template: nil))
        // "café" by hand: c, a, f, e, U+0301; "👍🏽 ok": U+1F44D, U+1F3FD, space, o, k.
        #expect(plain.choices[0].characters == [5, 5])
        #expect(tokenizer.decode(plain.choices[0].continuations[0]) == " cafe\u{301}")
        let chat = try EncodedSet(set, tokenizer: tokenizer, settings: EvalSettings(template: .chatml))
        #expect(chat.choices[0].characters == [5, 5])
    }

    @Test func generationIsGreedyUnderTemperatureZeroAndDeterministicUnderASeed() throws {
        let tokenizer = try tinyTokenizer()
        let params = tinyParams(tokenizer, seed: 7)
        let dir = temporaryDirectory()
        let path = writeLines([#"{"id":"p1","prompt":"the cat"}"#, #"{"id":"p2","prompt":"and the dog ate"}"#], "prompts.jsonl", in: dir)
        let set = try EvalSet.load(path: path)
        let evaluator = Evaluator(sets: [set], settings: EvalSettings())
        evaluator.sampling = SamplingOptions(temperature: 0, maxNewTokens: 6)
        let (results, generations) = try evaluator.evaluate(loaded(params, tokenizer))
        #expect(generations.map(\.id) == ["p1", "p2"])
        #expect(metric(results, "response_tokens").n == 2)

        let stops = Set(["<|im_end|>", "<|endoftext|>"].compactMap { tokenizer.tokenToId($0) })
        let encoded = try EncodedSet(set, tokenizer: tokenizer, settings: EvalSettings())
        for (prompt, g) in zip(encoded.prompts, generations) {
            var x = prompt, out: [Int32] = []
            for _ in 0..<6 {
                let v = params.config.vocabSize
                let model = Llama(params: params, maxBatch: 1, maxSeq: x.count)
                x.withUnsafeBufferPointer { model.forward(tokens: $0.baseAddress!, batch: 1, seq: x.count) }
                let row = (0..<v).map { model.acts.logits[(x.count - 1) * v + $0] }
                let next = Int32(row.firstIndex(of: row.max()!)!)
                x.append(next)
                if stops.contains(next) { break }
                out.append(next)
            }
            #expect(g.response == tokenizer.decode(out))
        }

        evaluator.sampling = SamplingOptions(temperature: 1, maxNewTokens: 8, seed: 42)
        let a = try evaluator.evaluate(loaded(params, tokenizer)).generations.map(\.response)
        let b = try evaluator.evaluate(loaded(params, tokenizer)).generations.map(\.response)
        #expect(a == b)
    }

    @Test func batchSizeOneAndEightGiveTheSameScores() throws {
        let tokenizer = try tinyTokenizer()
        let params = tinyParams(tokenizer, seed: 8)
        var sequences: [ScoredSequence] = []
        for k in 0..<13 {
            let n = 3 + (k * 5) % 17
            let x: [Int32] = (0..<n).map { Int32(($0 * 11 + k * 3) % tokenizer.vocabSize) }
            sequences.append(ScoredSequence(inputs: Array(x.dropLast()), targets: (1..<n).map { $0 % 3 == 0 ? -1 : x[$0] }))
        }
        let one = SequenceScorer(params: params, batchSize: 1, maxSeq: 32).score(sequences)
        let eight = SequenceScorer(params: params, batchSize: 8, maxSeq: 32).score(sequences)
        for (a, b) in zip(one, eight) { #expect(abs(a - b) <= 1e-4 * max(1, abs(a))) }
        // and both agree with the plain path
        for (s, score) in zip(sequences, eight) {
            let lp = referenceLogProbs(params, s.inputs + [s.targets.last! >= 0 ? s.targets.last! : 0])
            let expected = zip(lp, s.targets).filter { $0.1 >= 0 }.map(\.0).reduce(0, +)
            #expect(abs(score - expected) < 1e-3)
        }
    }
}

@Suite("LatheEval: every metric carries n and a standard error")
struct EvalErrorBarTests {
    /// Every task over sets of every kind, on one tiny model: each result has n > 1 and a
    /// finite standard error, the issue's "every metric carries its n and a standard error".
    @Test func everyMetricOfEveryTaskHasNAndAStandardError() throws {
        let tokenizer = try tinyTokenizer()
        let dir = temporaryDirectory()
        let sets = try [
            writeLines([#"{"messages":[{"role":"user","content":"the cat"},{"role":"assistant","content":"sat on the mat"}]}"#,
                        #"{"prompt":"and the dog","completion":"ate the bone"}"#], "chats.jsonl", in: dir),
            writeLines([#"{"text":"the cat sat on the mat"}"#, #"{"text":"and the dog ate the bone"}"#], "docs.jsonl", in: dir),
            writeLines([#"{"prompt":"the cat","chosen":"sat","rejected":"ate the bone"}"#,
                        #"{"prompt":"the dog","chosen":"ate the bone","rejected":"sat on the mat"}"#], "pairs.jsonl", in: dir),
            writeLines([#"{"question":"where sat the cat?","choices":["on the mat","on the dog"],"answer":0}"#,
                        #"{"question":"what ate the dog?","choices":["the cat","the bone"],"answer":1}"#], "mc.jsonl", in: dir),
            writeLines([#"{"id":"p1","prompt":"the cat"}"#, #"{"id":"p2","prompt":"and the dog"}"#,
                        #"{"id":"p3","prompt":"answers are"}"#], "prompts.jsonl", in: dir),
        ].map { try EvalSet.load(path: $0) }
        let evaluator = Evaluator(sets: sets, settings: EvalSettings())
        evaluator.sampling = SamplingOptions(temperature: 1, maxNewTokens: 5, seed: 1)
        evaluator.promptTasks = [.generate, .reward, .winrate]
        evaluator.judge = try RewardJudge(tinyRewardModel(tokenizer, seed: 12), template: .chatml, batchSize: 4)
        try evaluator.setReference(loaded(tinyParams(tokenizer, seed: 10), tokenizer, path: "ref"))
        try evaluator.setBaseline(loaded(tinyParams(tokenizer, seed: 11), tokenizer, path: "base"))
        let results = try evaluator.evaluate(loaded(tinyParams(tokenizer, seed: 9), tokenizer)).results

        let tasks = Set(results.map { $0.task.split(separator: ":")[0] })
        #expect(tasks == ["loss", "ppl", "prefs", "choice", "generate", "reward", "winrate"])
        #expect(results.count == 1 + 2 + 3 + 2 + 3 + 4 + 3)
        // The one exception: a length-controlled win rate whose regression did not converge
        // (wins and losses separated by length) has no error, and a note says so.
        let unconverged = evaluator.notes.contains { $0.contains("did not converge") }
        for r in results where !(r.metric == "lc_win_rate" && unconverged) {
            #expect(r.n > 1, "\(r.task) \(r.metric)")
            #expect(r.stderr.map { $0.isFinite && $0 >= 0 } == true, "\(r.task) \(r.metric) has no standard error")
        }
    }
}

@Suite("LatheEval tokenises each eval set once per tokenizer")
struct EvalTokeniseOnceTests {
    /// Two checkpoints sharing a tokenizer read one tokenisation (one note about cut sequences);
    /// a checkpoint with another tokenizer gets its own, and every checkpoint is scored on the
    /// tokens of its own tokenizer.
    @Test func checkpointsSharingATokenizerShareTheTokenisedSets() throws {
        let tokenizer = try tinyTokenizer()
        var trainer = try BPETrainer(vocabSize: 280, minFrequency: 2)
        trainer.add(contentsOf: Array(repeating: "a different text with other merges", count: 4))
        let other = try trainer.train()
        let dir = temporaryDirectory()
        let path = writeLines([#"{"messages":[{"role":"user","content":"the cat"},{"role":"assistant","content":"sat on the mat and the dog ate the bone"}]}"#],
                              "chats.jsonl", in: dir)
        let evaluator = Evaluator(sets: [try EvalSet.load(path: path)], settings: EvalSettings(seqLen: 8))
        let a = try evaluator.evaluate(loaded(tinyParams(tokenizer, seed: 1), tokenizer, path: "a")).results
        _ = try evaluator.evaluate(loaded(tinyParams(tokenizer, seed: 2), tokenizer, path: "b"))
        #expect(evaluator.notes.count == 1)
        #expect(evaluator.notes[0].contains("(a's tokenizer)"))
        _ = try evaluator.evaluate(loaded(tinyParams(other, seed: 3), other, path: "c"))
        #expect(evaluator.notes.count == 2)
        #expect(evaluator.notes[1].contains("(c's tokenizer)"))
        #expect(evaluator.scoredTokens == 3 * 8)
        #expect(a[0].metric == "loss" && a[0].n == 1)
    }
}
