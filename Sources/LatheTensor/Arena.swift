/// A named region of an arena: `shape` in elements, row-major, starting at `offset`.
public struct ArenaView: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
}

/// The plan of an arena: names and shapes in order, each view aligned to 16 floats (64 bytes)
/// so every buffer starts on a cache line.
public struct ArenaLayout: Sendable {
    public private(set) var views: [ArenaView] = []
    public private(set) var count = 0

    public init() {}

    @discardableResult
    public mutating func add(_ name: String, _ shape: [Int]) -> ArenaView {
        let view = ArenaView(name: name, shape: shape, offset: count)
        views.append(view)
        count += (view.count + 15) / 16 * 16
        return view
    }
}

/// One zeroed fp32 allocation per run that every buffer of a kind (parameters, gradients,
/// activations) is carved from; nothing is allocated once training steps begin.
public final class Arena: @unchecked Sendable {
    public let layout: ArenaLayout
    public let base: UnsafeMutablePointer<Float>
    private let index: [String: Int]

    public init(_ layout: ArenaLayout) {
        self.layout = layout
        base = .allocate(capacity: max(layout.count, 1))
        base.initialize(repeating: 0, count: max(layout.count, 1))
        var index: [String: Int] = [:]
        for (i, view) in layout.views.enumerated() { index[view.name] = i }
        self.index = index
    }

    deinit { base.deallocate() }

    public var count: Int { layout.count }
    public var views: [ArenaView] { layout.views }

    public func view(named name: String) -> ArenaView? { index[name].map { layout.views[$0] } }

    public func pointer(_ view: ArenaView) -> UnsafeMutablePointer<Float> { base + view.offset }

    /// The buffer named `name`; a missing name is a programming error.
    public subscript(name: String) -> UnsafeMutableBufferPointer<Float> {
        guard let view = view(named: name) else { fatalError("no buffer named \(name) in this arena") }
        return UnsafeMutableBufferPointer(start: base + view.offset, count: view.count)
    }

    public func zero() { base.update(repeating: 0, count: layout.count) }
}
