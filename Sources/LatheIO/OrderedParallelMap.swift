import Dispatch
import Foundation

/// Runs `transform` over a stream of items on `jobs` threads and hands the results to
/// `consume` in input order, with at most `inFlight` (default `2 × jobs`) items produced and
/// not yet consumed (bounded memory).
///
/// `produce` and `consume` run on the calling thread, so readers and writers need no locks.
/// If `produce` throws (a truncated input, say), every item produced before it is still
/// transformed and consumed, then the error is rethrown: output up to the cut is kept.
/// If `consume` throws, production stops, in-flight work is awaited, and the error is rethrown.
public func orderedParallelMap<Item, Result>(
    jobs: Int,
    inFlight: Int? = nil,
    produce: () throws -> Item?,
    transform: @escaping @Sendable (Item) -> Result,
    consume: (Result) throws -> Void
) throws {
    let limit = inFlight ?? 2 * jobs
    if jobs <= 1 || limit <= 1 {
        while let item = try produce() { try consume(transform(item)) }
        return
    }
    let state = MapState<Result>()
    var submitted = 0
    var consumed = 0
    var produceError: Error?
    var inputDone = false
    let queue = DispatchQueue.global(qos: .userInitiated)
    defer { state.waitForAll(submitted: submitted) }

    while true {
        while !inputDone && submitted - consumed < limit {
            let item: Item?
            do { item = try produce() } catch {
                produceError = error
                inputDone = true
                break
            }
            guard let item else {
                inputDone = true
                break
            }
            let index = submitted
            let box = UncheckedBox(item)
            queue.async { state.put(index, transform(box.value)) }
            submitted += 1
        }
        if consumed == submitted { break }
        try consume(state.take(consumed))
        consumed += 1
    }
    if let produceError { throw produceError }
}

/// Moves a value to a worker; the map guarantees only one thread touches it at a time.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

private final class MapState<Result>: @unchecked Sendable {
    private let condition = NSCondition()
    private var results: [Int: Result] = [:]
    private var finished = 0

    func put(_ index: Int, _ result: Result) {
        condition.lock()
        results[index] = result
        finished += 1
        condition.broadcast()
        condition.unlock()
    }

    func take(_ index: Int) -> Result {
        condition.lock()
        defer { condition.unlock() }
        while results[index] == nil { condition.wait() }
        return results.removeValue(forKey: index)!
    }

    func waitForAll(submitted: Int) {
        condition.lock()
        while finished < submitted { condition.wait() }
        results.removeAll()
        condition.unlock()
    }
}
