import Testing
import Foundation
@testable import LatheTensor

// Each kernel gets two tests: its Double reference backward against central differences of
// the reference forward (tolerance 1e-6: both sides are exact to ~1e-9), and the fast fp32
// kernel against the reference, forward and backward, with gradients pre-filled to check that
// backward adds (tolerance 1e-4 relative: fp32 rounding over sums of tens of terms).
// A scalar loss L = Σ out ⊙ r with fixed random r makes dout = r.

@Suite("Linear") struct LinearTests {
    @Test func referenceBackwardMatchesFiniteDifferences() {
        let n = 3, i = 4, o = 5
        let x = randomValues(n * i, seed: 1), w = randomValues(o * i, seed: 2), r = randomValues(n * o, seed: 3)
        let (dx, dw) = Linear.Reference.backward(dout: r, inp: x, weight: w, rows: n, inDim: i, outDim: o)
        let numX = numericGradient(x) { dot(Linear.Reference.forward(inp: $0, weight: w, rows: n, inDim: i, outDim: o), r) }
        let numW = numericGradient(w) { dot(Linear.Reference.forward(inp: x, weight: $0, rows: n, inDim: i, outDim: o), r) }
        #expect(relativeError(dx, numX) < 1e-6)
        #expect(relativeError(dw, numW) < 1e-6)
    }

    @Test func fastMatchesReference() {
        let n = 37, i = 64, o = 48
        let x = randomValues(n * i, seed: 4), w = randomValues(o * i, seed: 5, scale: 0.1), r = randomValues(n * o, seed: 6)
        var out = zeros(n * o)
        let xb = floats(x), wb = floats(w)
        Linear.forward(out: &out, inp: xb, weight: wb, rows: n, inDim: i, outDim: o)
        #expect(relativeError(out.doubles, Linear.Reference.forward(inp: x, weight: w, rows: n, inDim: i, outDim: o)) < 1e-5)
        let dx0 = randomValues(n * i, seed: 7), dw0 = randomValues(o * i, seed: 8)
        var dx = floats(dx0), dw = floats(dw0)
        Linear.backward(dinp: &dx, dweight: &dw, dout: floats(r), inp: xb, weight: wb,
                        rows: n, inDim: i, outDim: o)
        let ref = Linear.Reference.backward(dout: r, inp: x, weight: w, rows: n, inDim: i, outDim: o)
        #expect(relativeError(dx.doubles, zip(dx0, ref.dinp).map(+)) < 1e-5)
        #expect(relativeError(dw.doubles, zip(dw0, ref.dweight).map(+)) < 1e-5)
    }
}

@Suite("Embedding") struct EmbeddingTests {
    let tokens: [Int32] = [3, 0, 3, 5, 1, 3]

    @Test func referenceBackwardMatchesFiniteDifferences() {
        let v = 6, c = 4
        let table = randomValues(v * c, seed: 1), r = randomValues(tokens.count * c, seed: 2)
        let analytic = Embedding.Reference.backward(dout: r, tokens: tokens, vocab: v, channels: c)
        let numeric = numericGradient(table) { dot(Embedding.Reference.forward(tokens: tokens, table: $0, channels: c), r) }
        #expect(relativeError(analytic, numeric) < 1e-6)
    }

    @Test func fastMatchesReference() {
        let v = 6, c = 5, n = tokens.count
        let table = randomValues(v * c, seed: 3), r = randomValues(n * c, seed: 4), d0 = randomValues(v * c, seed: 5)
        var out = zeros(n * c), dtable = floats(d0)
        let tb = floats(table)
        Embedding.forward(out: &out, tokens: tokens, table: tb, rows: n, channels: c)
        #expect(relativeError(out.doubles, Embedding.Reference.forward(tokens: tokens, table: table, channels: c)) < 1e-6)
        Embedding.backward(dtable: &dtable, dout: floats(r), tokens: tokens, rows: n, channels: c)
        let ref = Embedding.Reference.backward(dout: r, tokens: tokens, vocab: v, channels: c)
        #expect(relativeError(dtable.doubles, zip(d0, ref).map(+)) < 1e-6)
    }
}

@Suite("RMSNorm") struct RMSNormTests {
    @Test func referenceBackwardMatchesFiniteDifferences() {
        let n = 3, c = 6, eps = 1e-5
        let x = randomValues(n * c, seed: 1), w = randomValues(c, seed: 2), r = randomValues(n * c, seed: 3)
        let (dx, dw) = RMSNorm.Reference.backward(dout: r, inp: x, weight: w, rows: n, channels: c, eps: eps)
        let numX = numericGradient(x) { dot(RMSNorm.Reference.forward(inp: $0, weight: w, rows: n, channels: c, eps: eps), r) }
        let numW = numericGradient(w) { dot(RMSNorm.Reference.forward(inp: x, weight: $0, rows: n, channels: c, eps: eps), r) }
        #expect(relativeError(dx, numX) < 1e-6)
        #expect(relativeError(dw, numW) < 1e-6)
    }

    // 64×256 is large enough to take the two-worker path.
    @Test(arguments: [(3, 6), (64, 256)]) func fastMatchesReference(n: Int, c: Int) {
        let eps = 1e-5
        let x = randomValues(n * c, seed: 4), w = randomValues(c, seed: 5), r = randomValues(n * c, seed: 6)
        var out = zeros(n * c), rstd = zeros(n)
        let xb = floats(x), wb = floats(w)
        RMSNorm.forward(out: &out, rstd: &rstd, inp: xb, weight: wb, rows: n, channels: c,
                        eps: Float(eps))
        #expect(relativeError(out.doubles, RMSNorm.Reference.forward(inp: x, weight: w, rows: n, channels: c, eps: eps)) < 1e-5)
        let dx0 = randomValues(n * c, seed: 7), dw0 = randomValues(c, seed: 8)
        var dx = floats(dx0), dw = floats(dw0)
        RMSNorm.backward(dinp: &dx, dweight: &dw, dout: floats(r), inp: xb, weight: wb,
                         rstd: rstd, rows: n, channels: c)
        let ref = RMSNorm.Reference.backward(dout: r, inp: x, weight: w, rows: n, channels: c, eps: eps)
        #expect(relativeError(dx.doubles, zip(dx0, ref.dinp).map(+)) < 1e-4)
        #expect(relativeError(dw.doubles, zip(dw0, ref.dweight).map(+)) < 1e-4)
    }
}

@Suite("RoPE") struct RoPETests {
    // Hugging Face's rotate_half pairs dimension i with i + hs/2 at frequency theta^(-2i/hs).
    @Test func pairsDimensionIWithIPlusHalf() {
        let rope = RoPE(headDim: 4, maxPositions: 8, theta: 10_000)
        var x = floats([1, 0, 0, 0, 0, 1, 0, 0])
        rope.forward(&x, positions: [3], rows: 1, heads: 2)
        let slow = 3.0 * 0.01 // position 3 at theta^(-2/4)
        let expected = [cos(3.0), 0, sin(3.0), 0, 0, cos(slow), 0, sin(slow)]
        #expect(relativeError(x.doubles, expected) < 1e-6)
    }

    @Test func referenceBackwardMatchesFiniteDifferences() {
        let positions: [Int32] = [0, 1, 5], heads = 2, hs = 6
        let x = randomValues(3 * heads * hs, seed: 1), r = randomValues(x.count, seed: 2)
        let analytic = RoPE.Reference.backward(r, positions: positions, heads: heads, headDim: hs, theta: 500)
        let numeric = numericGradient(x) {
            dot(RoPE.Reference.forward($0, positions: positions, heads: heads, headDim: hs, theta: 500), r)
        }
        #expect(relativeError(analytic, numeric) < 1e-6)
    }

    @Test(arguments: [(3, 2, 6), (200, 4, 32)]) func fastMatchesReference(n: Int, heads: Int, hs: Int) {
        let positions = (0..<n).map { Int32(($0 * 7) % 97) }
        let rope = RoPE(headDim: hs, maxPositions: 100, theta: 10_000)
        let x = randomValues(n * heads * hs, seed: 3), r = randomValues(x.count, seed: 4)
        var xb = floats(x)
        rope.forward(&xb, positions: positions, rows: n, heads: heads)
        let expected = RoPE.Reference.forward(x, positions: positions, heads: heads, headDim: hs, theta: 10_000)
        #expect(relativeError(xb.doubles, expected) < 1e-5)
        var rb = floats(r)
        rope.backward(&rb, positions: positions, rows: n, heads: heads)
        let ref = RoPE.Reference.backward(r, positions: positions, heads: heads, headDim: hs, theta: 10_000)
        #expect(relativeError(rb.doubles, ref) < 1e-5)
    }
}

@Suite("SwiGLU") struct SwiGLUTests {
    @Test func referenceBackwardMatchesFiniteDifferences() {
        let g = randomValues(12, seed: 1, scale: 2), u = randomValues(12, seed: 2), r = randomValues(12, seed: 3)
        let (dg, du) = SwiGLU.Reference.backward(dout: r, gate: g, up: u)
        #expect(relativeError(dg, numericGradient(g) { dot(SwiGLU.Reference.forward(gate: $0, up: u), r) }) < 1e-6)
        #expect(relativeError(du, numericGradient(u) { dot(SwiGLU.Reference.forward(gate: g, up: $0), r) }) < 1e-6)
    }

    @Test(arguments: [12, 1_003, 50_000]) func fastMatchesReference(count: Int) {
        let g = randomValues(count, seed: 4, scale: 3), u = randomValues(count, seed: 5), r = randomValues(count, seed: 6)
        var out = zeros(count)
        let gb = floats(g), ub = floats(u)
        SwiGLU.forward(out: &out, gate: gb, up: ub, count: count)
        #expect(relativeError(out.doubles, SwiGLU.Reference.forward(gate: g, up: u)) < 1e-5)
        let dg0 = randomValues(count, seed: 7), du0 = randomValues(count, seed: 8)
        var dg = floats(dg0), du = floats(du0)
        SwiGLU.backward(dgate: &dg, dup: &du, dout: floats(r), gate: gb, up: ub,
                        count: count)
        let ref = SwiGLU.Reference.backward(dout: r, gate: g, up: u)
        #expect(relativeError(dg.doubles, zip(dg0, ref.dgate).map(+)) < 1e-5)
        #expect(relativeError(du.doubles, zip(du0, ref.dup).map(+)) < 1e-5)
    }
}

@Suite("Attention") struct AttentionTests {
    // Row 0 packs two documents and a padding position; row 1 is one document.
    static let segments: [Int32] = [0, 0, 0, 1, 1, -1, 2, 2, 2, 2, 2, 2]
    let b = 2, t = 6, nh = 4, nkv = 2, hs = 4

    @Test func referenceBackwardMatchesFiniteDifferences() {
        let seg = Self.segments
        let q = randomValues(b * t * nh * hs, seed: 1), k = randomValues(b * t * nkv * hs, seed: 2)
        let v = randomValues(k.count, seed: 3), r = randomValues(q.count, seed: 4)
        func loss(_ q: [Double], _ k: [Double], _ v: [Double]) -> Double {
            dot(Attention.Reference.forward(q: q, k: k, v: v, segments: seg, batch: b, seq: t, heads: nh, kvHeads: nkv,
                                            headDim: hs), r)
        }
        let g = Attention.Reference.backward(dout: r, q: q, k: k, v: v, segments: seg, batch: b, seq: t, heads: nh,
                                             kvHeads: nkv, headDim: hs)
        #expect(relativeError(g.dq, numericGradient(q) { loss($0, k, v) }) < 1e-6)
        #expect(relativeError(g.dk, numericGradient(k) { loss(q, $0, v) }) < 1e-6)
        #expect(relativeError(g.dv, numericGradient(v) { loss(q, k, $0) }) < 1e-6)
    }

    // Case 1 is large enough to run heads in parallel and packs 3 documents a row; case 2 spans
    // three of the kernel's 128-row blocks, once with one document a row and once packed.
    @Test(arguments: [0, 1, 2, 3]) func fastMatchesReference(size: Int) {
        let (b, t, nh, nkv, hs) = [(self.b, self.t, self.nh, self.nkv, self.hs), (2, 40, 6, 2, 16),
                                   (2, 300, 2, 1, 8), (1, 300, 4, 2, 8)][size]
        let seg: [Int32]? = switch size {
        case 0: Self.segments
        case 1: (0..<(b * t)).map { Int32(($0 % t) / 15) }
        case 2: nil
        default: (0..<(b * t)).map { Int32(($0 % t) / 170) }
        }
        let q = randomValues(b * t * nh * hs, seed: 5), k = randomValues(b * t * nkv * hs, seed: 6)
        let v = randomValues(k.count, seed: 7), r = randomValues(q.count, seed: 8)
        let qb = floats(q), kb = floats(k), vb = floats(v)
        var out = zeros(q.count), probs = zeros(b * nh * t * t)
        Attention.forward(out: &out, probs: &probs, q: qb, k: kb, v: vb,
                          segments: seg, batch: b, seq: t, heads: nh, kvHeads: nkv, headDim: hs)
        let expected = Attention.Reference.forward(q: q, k: k, v: v, segments: seg, batch: b, seq: t, heads: nh,
                                                   kvHeads: nkv, headDim: hs)
        #expect(relativeError(out.doubles, expected) < 1e-5)
        let dq0 = randomValues(q.count, seed: 9), dk0 = randomValues(k.count, seed: 10), dv0 = randomValues(v.count, seed: 11)
        var dq = floats(dq0), dk = floats(dk0), dv = floats(dv0)
        var scratch = zeros(Attention.scratchCount(batch: b, seq: t, heads: nh))
        Attention.backward(dq: &dq, dk: &dk, dv: &dv, scratch: &scratch, dout: floats(r),
                           q: qb, k: kb, v: vb, probs: probs,
                           batch: b, seq: t, heads: nh, kvHeads: nkv, headDim: hs)
        let ref = Attention.Reference.backward(dout: r, q: q, k: k, v: v, segments: seg, batch: b, seq: t, heads: nh,
                                               kvHeads: nkv, headDim: hs)
        #expect(relativeError(dq.doubles, zip(dq0, ref.dq).map(+)) < 1e-4)
        #expect(relativeError(dk.doubles, zip(dk0, ref.dk).map(+)) < 1e-4)
        #expect(relativeError(dv.doubles, zip(dv0, ref.dv).map(+)) < 1e-4)
    }

    @Test func packedDocumentsAndPaddingAreIsolated() {
        let seg = Self.segments
        let q = randomValues(b * t * nh * hs, seed: 12), k = randomValues(b * t * nkv * hs, seed: 13)
        let v = randomValues(k.count, seed: 14)
        func run(_ k: [Double], _ v: [Double]) -> [Double] {
            var out = zeros(q.count), probs = zeros(b * nh * t * t)
            Attention.forward(out: &out, probs: &probs, q: floats(q), k: floats(k),
                              v: floats(v), segments: seg, batch: b, seq: t, heads: nh, kvHeads: nkv, headDim: hs)
            return out.doubles
        }
        let base = run(k, v)
        // Change the keys and values of document 0 (row 0, positions 0..<3) and of the padding.
        var k2 = k, v2 = v
        for i in 0..<(3 * nkv * hs) { k2[i] += 1; v2[i] -= 2 }
        for i in (5 * nkv * hs)..<(6 * nkv * hs) { k2[i] = 9; v2[i] = 9 }
        let changed = run(k2, v2)
        let row = nh * hs
        #expect(Array(base[(3 * row)..<(5 * row)]) == Array(changed[(3 * row)..<(5 * row)]), "document 1 saw document 0")
        #expect(base[(5 * row)..<(6 * row)].allSatisfy { $0 == 0 }, "padding produced output")
        #expect(Array(base[(6 * row)...]) == Array(changed[(6 * row)...]), "row 1 saw row 0")
        #expect(base[0..<(3 * row)] != changed[0..<(3 * row)])
    }
}

@Suite("CrossEntropy") struct CrossEntropyTests {
    // Position 2 is masked out, position 4 has the ignore target −100, position 3 weighs ½: Σm = 3.5.
    let targets: [Int32] = [1, 6, 0, 3, -100, 2]
    let mask: [Double] = [1, 1, 0, 0.5, 1, 1]
    let v = 7

    @Test func referenceBackwardMatchesFiniteDifferences() {
        let logits = randomValues(targets.count * v, seed: 1, scale: 2)
        let analytic = CrossEntropy.Reference.backward(logits: logits, targets: targets, mask: mask, vocab: v)
        let numeric = numericGradient(logits) { CrossEntropy.Reference.forward(logits: $0, targets: targets, mask: mask, vocab: v) }
        #expect(relativeError(analytic, numeric) < 1e-6)
        #expect(analytic[(2 * v)..<(3 * v)].allSatisfy { $0 == 0 } && analytic[(4 * v)..<(5 * v)].allSatisfy { $0 == 0 })
    }

    @Test(arguments: [false, true]) func fastMatchesReference(inPlace: Bool) {
        let n = targets.count
        let logits = randomValues(n * v, seed: 2, scale: 3), d0 = inPlace ? logits : randomValues(n * v, seed: 3)
        var lb = floats(logits), losses = zeros(n)
        let maskBuffer = floats(mask)
        let (loss, weight) = CrossEntropy.forward(losses: &losses, logits: lb, targets: targets,
                                                  mask: maskBuffer, rows: n, vocab: v)
        let expected = CrossEntropy.Reference.forward(logits: logits, targets: targets, mask: mask, vocab: v)
        #expect(abs(Double(loss) - expected) < 1e-5 * expected)
        #expect(weight == 3.5)
        var d = floats(d0)
        if inPlace {
            lb.withUnsafeMutableBufferPointer {
                CrossEntropy.backward(dlogits: $0.baseAddress!, logits: $0.baseAddress!, targets: targets, mask: maskBuffer,
                                      rows: n, vocab: v, scale: 1 / weight)
            }
            d = lb
        } else {
            CrossEntropy.backward(dlogits: &d, logits: lb, targets: targets, mask: maskBuffer,
                                  rows: n, vocab: v, scale: 1 / weight)
        }
        let ref = CrossEntropy.Reference.backward(logits: logits, targets: targets, mask: mask, vocab: v)
        #expect(relativeError(d.doubles, inPlace ? ref : zip(d0, ref).map(+)) < 1e-5)
    }

    @Test func largeVocabularyMatchesReference() {
        let n = 8, v = 5000
        let targets = (0..<n).map { Int32($0 * 611 % v) }
        let logits = randomValues(n * v, seed: 4, scale: 4)
        var losses = zeros(n), d = zeros(n * v)
        let lb = floats(logits)
        let (loss, weight) = CrossEntropy.forward(losses: &losses, logits: lb, targets: targets, mask: nil,
                                                  rows: n, vocab: v)
        let expected = CrossEntropy.Reference.forward(logits: logits, targets: targets, mask: nil, vocab: v)
        #expect(abs(Double(loss) - expected) < 1e-5 * expected)
        CrossEntropy.backward(dlogits: &d, logits: lb, targets: targets, mask: nil, rows: n, vocab: v,
                              scale: 1 / weight)
        #expect(relativeError(d.doubles, CrossEntropy.Reference.backward(logits: logits, targets: targets, mask: nil, vocab: v)) < 1e-4)
    }
}
