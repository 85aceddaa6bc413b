// `--block-domains FILE`: documents whose URL's host is a listed domain or a subdomain of one
// are dropped. One domain a line; blank lines and `#` comments are skipped; a leading `*.`
// or `.` is accepted and means the same; matching ignores case and a trailing dot.

import Foundation

public struct DomainBlocklist: Sendable {
    private let domains: Set<String>

    public init<S: Sequence>(domains: S) where S.Element == String {
        var set = Set<String>()
        for raw in domains {
            var d = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if d.isEmpty || d.hasPrefix("#") { continue }
            if d.hasPrefix("*.") { d.removeFirst(2) }
            while d.hasPrefix(".") { d.removeFirst() }
            while d.hasSuffix(".") { d.removeLast() }
            if !d.isEmpty { set.insert(d) }
        }
        self.domains = set
    }

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FilterConfigError(message: "\(path): cannot read the domain list; give a file with one domain a line")
        }
        self.init(domains: String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init))
    }

    public var count: Int { domains.count }

    /// True when the URL's host, or any parent domain of it, is listed.
    public func isBlocked(url: String) -> Bool {
        guard let host = Self.host(of: url) else { return false }
        return isBlocked(host: host)
    }

    public func isBlocked(host: String) -> Bool {
        var h = Substring(host.lowercased())
        while h.hasSuffix(".") { h = h.dropLast() }
        while true {
            if domains.contains(String(h)) { return true }
            guard let dot = h.firstIndex(of: ".") else { return false }
            h = h[h.index(after: dot)...]
        }
    }

    /// The host of `scheme://user@host:port/path` (or of `host/path` without a scheme).
    static func host(of url: String) -> String? {
        var rest = Substring(url.trimmingCharacters(in: .whitespaces))
        if let r = rest.range(of: "://") { rest = rest[r.upperBound...] } else if rest.hasPrefix("//") { rest = rest.dropFirst(2) }
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("[") { return nil }  // IPv6 literal: no domain to match
        if let colon = rest.firstIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : String(rest)
    }
}
