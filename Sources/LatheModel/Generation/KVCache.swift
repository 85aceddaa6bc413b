import LatheTensor

/// The keys and values a Llama has computed so far for several sequences at once, one slot per
/// sequence, so decoding a new token costs one row of work instead of the whole prefix.
/// Per layer, keys and values are each (slots, capacity, NKV, hs), stored already rotated.
public final class KVCache: @unchecked Sendable {
    public let config: LlamaConfig
    public let slots: Int
    /// Positions each slot can hold (prompt and generated tokens together).
    public let capacity: Int
    /// Tokens held in each slot; the next token of slot s goes to position lengths[s].
    public internal(set) var lengths: [Int]
    let arena: Arena
    let keys: [UnsafeMutablePointer<Float>]
    let values: [UnsafeMutablePointer<Float>]

    public init(config: LlamaConfig, slots: Int, capacity: Int) {
        precondition(slots >= 1 && capacity >= 1, "a KV cache needs at least one slot of one position")
        self.config = config
        self.slots = slots
        self.capacity = capacity
        lengths = [Int](repeating: 0, count: slots)
        var layout = ArenaLayout()
        let shape = [slots, capacity, config.kvDim]
        for l in 0..<config.numHiddenLayers {
            layout.add("keys.\(l)", shape)
            layout.add("values.\(l)", shape)
        }
        arena = Arena(layout)
        let arena = arena
        keys = (0..<config.numHiddenLayers).map { arena["keys.\($0)"].baseAddress! }
        values = (0..<config.numHiddenLayers).map { arena["values.\($0)"].baseAddress! }
    }

    /// Bytes the cache holds: 2 · layers · slots · capacity · NKV · hs floats.
    public var bytes: Int { 2 * config.numHiddenLayers * slots * capacity * config.kvDim * 4 }

    /// Forgets slot `slot`; its next token goes to position 0.
    public func clear(_ slot: Int) { lengths[slot] = 0 }

    public func clearAll() { lengths = [Int](repeating: 0, count: slots) }

    /// Makes slot `target` hold the same prefix as `source`, so several continuations can share
    /// a context computed once.
    public func copy(slot source: Int, to target: Int) {
        guard source != target else { return }
        let count = lengths[source] * config.kvDim, stride = capacity * config.kvDim
        for l in 0..<config.numHiddenLayers {
            (keys[l] + target * stride).update(from: keys[l] + source * stride, count: count)
            (values[l] + target * stride).update(from: values[l] + source * stride, count: count)
        }
        lengths[target] = lengths[source]
    }
}
