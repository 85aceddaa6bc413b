import CLatheKernels

// Products with bf16 inputs and fp32 sums. Where the CPU has AMX (Sapphire Rapids and later),
// op(b) is packed into tiles' order as it is rounded and rows of op(a) are rounded as the
// product walks them (gemm_bf16.c): a product reads its fp32 operands once and runs at many
// times sgemm's rate. Elsewhere both operands are rounded into scratch and sgemm multiplies
// the copies, which is the same arithmetic up to the order of the sums.

public enum BF16Matmul {
    /// How bf16 products run on this machine, for `--verbose`.
    public static var kernel: String {
        lathe_bf16_amx_available() != 0 ? "AMX bf16 tiles" : "bf16-rounded inputs on sgemm (no AMX on this CPU)"
    }

    /// Whether products take the AMX kernel (true where the CPU has it, unless a test switched it off).
    public static var usesAMX: Bool { lathe_bf16_amx_available() != 0 }

    /// Switches the AMX kernel off (or back on) so tests can hold both paths to the same results.
    public static func disableAMX(_ off: Bool) { lathe_bf16_amx_disable(off ? 1 : 0) }

    /// op(b) (k,n) packed for `matmul(_:ldc:_:lda:packed:)`, rounded to bf16: a weight matrix
    /// packed once and multiplied by many inputs. Only where `usesAMX`.
    public final class PackedMatrix: @unchecked Sendable {
        public let k: Int
        public let n: Int
        let storage: UnsafeMutablePointer<UInt16>

        /// From fp32 b (row stride ldb; transB: stored (n,k)).
        public init(_ b: UnsafePointer<Float>, ldb: Int, k: Int, n: Int, transB: Bool) {
            (self.k, self.n) = (k, n)
            storage = .allocate(capacity: lathe_bf16_packed_b_count(k, n))
            BF16Matmul.pack(storage, k: k, n: n) { lathe_bf16_pack_b($0, b, ldb, transB ? 1 : 0, k, n, $1, $2) }
        }

        /// From b already in bf16 bits (row stride ldb; transB: stored (n,k)).
        public init(bits b: UnsafePointer<UInt16>, ldb: Int, k: Int, n: Int, transB: Bool) {
            (self.k, self.n) = (k, n)
            storage = .allocate(capacity: lathe_bf16_packed_b_count(k, n))
            BF16Matmul.pack(storage, k: k, n: n) { lathe_bf16_pack_b_bits($0, b, ldb, transB ? 1 : 0, k, n, $1, $2) }
        }

        public var bytes: Int { Self.bytes(k: k, n: n) }

        /// Bytes a packed op(b) of (k,n) holds: k and n each rounded up to 32, two bytes an element.
        public static func bytes(k: Int, n: Int) -> Int { lathe_bf16_packed_b_count(k, n) * 2 }

        deinit { storage.deallocate() }
    }

    // Packs op(b)'s n-blocks of 16 columns, split across the workers.
    static func pack(_ packed: UnsafeMutablePointer<UInt16>, k: Int, n: Int,
                     _ blocks: (UnsafeMutablePointer<UInt16>, Int, Int) -> Void) {
        let count = (n + 31) / 32 * 2
        Parallel.forRange(count, costPerItem: 16 * k * 2) { range in blocks(packed, range.lowerBound, range.upperBound) }
    }

    /// c (m,n) = alpha · op(a) (m,k) · packed (k,n) + beta · c, row strides ldc and lda (elements);
    /// a is stored (k,m) when transA. Split across the workers by rows of c, or by its columns
    /// when there are too few rows.
    public static func matmul(_ c: UnsafeMutablePointer<Float>, ldc: Int, _ a: UnsafePointer<Float>, lda: Int,
                              packed: PackedMatrix, m: Int, transA: Bool = false, alpha: Float = 1, beta: Float = 0,
                              parallel: Bool = true) {
        multiply(c, ldc: ldc, a, lda: lda, packed.storage, m: m, n: packed.n, k: packed.k, transA: transA,
                 alpha: alpha, beta: beta, parallel: parallel)
    }

    /// c (m, columns.count) = alpha · op(a) (m,k) · columns `columns` of packed + beta · c: a block
    /// of a wide weight (lm_head's vocabulary) at a time. Packed columns are stored in blocks of
    /// 32, so `columns` starts at a multiple of 32.
    public static func matmul(_ c: UnsafeMutablePointer<Float>, ldc: Int, _ a: UnsafePointer<Float>, lda: Int,
                              packed: PackedMatrix, columns: Range<Int>, m: Int, transA: Bool = false, alpha: Float = 1,
                              beta: Float = 0, parallel: Bool = true) {
        precondition(columns.lowerBound % 32 == 0 && columns.lowerBound >= 0 && columns.upperBound <= packed.n,
                     "columns \(columns) of a packed matrix of \(packed.n) must start at a multiple of 32 and lie inside it")
        let kp = (packed.k + 31) / 32 * 32
        multiply(c, ldc: ldc, a, lda: lda, packed.storage + columns.lowerBound * kp, m: m, n: columns.count, k: packed.k,
                 transA: transA, alpha: alpha, beta: beta, parallel: parallel)
    }

    /// How a product is split across the workers: whole on the calling thread, by blocks of 32
    /// rows of c, or (few rows, many columns) by blocks of 32 columns, each worker rounding all of a.
    enum Split { case none, rows, columns }

    static func split(m: Int, n: Int, k: Int, parallel: Bool = true) -> Split {
        let workers = Parallel.workers
        guard parallel, workers > 1, m * n * k >= 1 << 22 else { return .none }
        let rowBlocks = (m + 31) / 32, colBlocks = (n + 31) / 32
        return rowBlocks >= 2 * workers || rowBlocks >= colBlocks ? .rows : .columns
    }

    static func multiply(_ c: UnsafeMutablePointer<Float>, ldc: Int, _ a: UnsafePointer<Float>, lda: Int,
                         _ packed: UnsafePointer<UInt16>, m: Int, n: Int, k: Int, transA: Bool, alpha: Float,
                         beta: Float, parallel: Bool) {
        let trans: Int32 = transA ? 1 : 0, kp = (k + 31) / 32 * 32
        switch split(m: m, n: n, k: k, parallel: parallel) {
        case .none:
            lathe_bf16_gemm_packed(c, ldc, a, lda, trans, packed, m, n, k, alpha, beta)
        case .rows:
            Parallel.forRange((m + 31) / 32, costPerItem: 1 << 16) { blocks in
                let lo = blocks.lowerBound * 32, hi = min(m, blocks.upperBound * 32)
                lathe_bf16_gemm_packed(c + lo * ldc, ldc, a + (transA ? lo : lo * lda), lda, trans, packed,
                                       hi - lo, n, k, alpha, beta)
            }
        case .columns:
            Parallel.forRange((n + 31) / 32, costPerItem: 1 << 16) { blocks in
                let lo = blocks.lowerBound * 32, hi = min(n, blocks.upperBound * 32)
                lathe_bf16_gemm_packed(c + lo, ldc, a, lda, trans, packed + lo * kp, m, hi - lo, k, alpha, beta)
            }
        }
    }

    /// Bytes of buffers a product of (m,k)·(k,n) leaves with the threads it ran on: on the calling
    /// thread, op(b) packed (AMX) or both operands rounded (elsewhere); on each worker, the rows of
    /// op(a) it rounded (AMX). Buffers are kept for the next product, so a model holds the largest.
    public static func scratchBytes(m: Int, n: Int, k: Int) -> (caller: Int, perWorker: Int) {
        guard usesAMX else { return (4 * (m * k + k * n), 0) }
        let kp = (k + 31) / 32 * 32, rowBlocks = (m + 31) / 32
        let rows: Int
        switch split(m: m, n: n, k: k) {
        case .none, .columns: rows = rowBlocks * 32
        case .rows: rows = (rowBlocks + Parallel.chunks(rowBlocks) - 1) / Parallel.chunks(rowBlocks) * 32
        }
        return (lathe_bf16_packed_b_count(k, n) * 2, rows * kp * 2)
    }
}

/// c (m,n) = alpha · op(a) · op(b) + beta · c with a and b rounded to bf16 (nearest, ties to
/// even) and the products summed in fp32: `matmul`'s arguments, meaning and splitting.
public func matmulBF16(_ c: UnsafeMutablePointer<Float>, ldc: Int, _ a: UnsafePointer<Float>, lda: Int,
                       _ b: UnsafePointer<Float>, ldb: Int, m: Int, n: Int, k: Int,
                       transA: Bool = false, transB: Bool = false, alpha: Float = 1, beta: Float = 0,
                       parallel: Bool = true) {
    guard m > 0, n > 0 else { return }
    if BF16Matmul.usesAMX {
        let packed = lathe_bf16_thread_scratch(lathe_bf16_packed_b_count(k, n))!
        BF16Matmul.pack(packed, k: k, n: n) { lathe_bf16_pack_b($0, b, ldb, transB ? 1 : 0, k, n, $1, $2) }
        BF16Matmul.multiply(c, ldc: ldc, a, lda: lda, packed, m: m, n: n, k: k, transA: transA, alpha: alpha,
                            beta: beta, parallel: parallel)
        return
    }
    // op(a) and op(b) rounded into contiguous scratch (kept in their stored orientation), then sgemm.
    let (aRows, aCols) = transA ? (k, m) : (m, k), (bRows, bCols) = transB ? (n, k) : (k, n)
    let scratch = UnsafeMutableRawPointer(lathe_bf16_thread_scratch(2 * (aRows * aCols + bRows * bCols))!)
        .bindMemory(to: Float.self, capacity: aRows * aCols + bRows * bCols)
    let roundedA = scratch, roundedB = scratch + aRows * aCols
    for r in 0..<aRows { BFloat16.round(roundedA + r * aCols, a + r * lda, count: aCols) }
    for r in 0..<bRows { BFloat16.round(roundedB + r * bCols, b + r * ldb, count: bCols) }
    matmul(c, ldc: ldc, roundedA, lda: aCols, roundedB, ldb: bCols, m: m, n: n, k: k, transA: transA,
           transB: transB, alpha: alpha, beta: beta, parallel: parallel)
}

/// `matmulBF16` over contiguous operands, as `matmul(_:_:_:m:n:k:...)`.
@inline(__always)
public func matmulBF16(_ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                       m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false,
                       alpha: Float = 1, beta: Float = 0) {
    matmulBF16(c, ldc: n, a, lda: transA ? m : k, b, ldb: transB ? k : n,
               m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, beta: beta)
}
