/// Token embedding lookup.
public enum Embedding {
    // out is (N,C); tokens is (N); table is (V,C)
    public static func forward(out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
                               table: UnsafePointer<Float>, rows n: Int, channels c: Int) {
        for r in 0..<n {
            (out + r * c).update(from: table + Int(tokens[r]) * c, count: c)
        }
    }

    // dtable (V,C) += dout (N,C) scattered by token; serial because tokens repeat
    public static func backward(dtable: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                tokens: UnsafePointer<Int32>, rows n: Int, channels c: Int) {
        for r in 0..<n {
            let row = dtable + Int(tokens[r]) * c, g = dout + r * c
            for j in 0..<c { row[j] += g[j] }
        }
    }

    public enum Reference {
        public static func forward(tokens: [Int32], table: [Double], channels c: Int) -> [Double] {
            tokens.flatMap { table[Int($0) * c..<(Int($0) + 1) * c] }
        }

        public static func backward(dout: [Double], tokens: [Int32], vocab v: Int, channels c: Int) -> [Double] {
            var dtable = [Double](repeating: 0, count: v * c)
            for (r, token) in tokens.enumerated() {
                for j in 0..<c { dtable[Int(token) * c + j] += dout[r * c + j] }
            }
            return dtable
        }
    }
}
