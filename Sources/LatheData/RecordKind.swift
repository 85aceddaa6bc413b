import LatheIO

/// The kinds of record Lathe's stages pass between them; DESIGN.md's records table, one JSON
/// Schema each in `schemas/<rawValue>.schema.json`.
public enum RecordKind: String, CaseIterable, Sendable {
    case document
    case thread
    case conversation
    case candidates
    case judgment
    case preference
    case evalResult = "eval-result"
    case trainLog = "train-log"

    public var schemaFileName: String { "\(rawValue).schema.json" }

    /// The text of `schemas/<kind>.schema.json`, compiled into the binary
    /// (scripts/embed-schemas.sh), so a copied or installed binary needs no resource files.
    public var schemaText: String? { embeddedSchemas[schemaFileName] }

    /// The kind's schema, compiled on first use of any kind. The schemas ship inside the
    /// binary, so one that is missing or does not compile is a broken build, not bad input:
    /// that stops the program with the reason.
    public var schema: JSONSchema {
        switch RecordSchemas.all[self] {
        case .success(let schema)?: return schema
        case .failure(let error)?: fatalError("\(schemaFileName): \(error)")
        case nil: fatalError("\(schemaFileName): no schema loaded for \(rawValue)")
        }
    }

    /// The kind's schema, or why it could not be loaded; for callers that report rather than stop.
    public func loadSchema() throws(SchemaError) -> JSONSchema {
        switch RecordSchemas.all[self] {
        case .success(let schema)?: return schema
        case .failure(let error)?: throw error
        case nil: throw SchemaError(location: "#", message: "no schema loaded for \(rawValue)")
        }
    }

    /// The violations of `value` against this kind's schema; empty when it is valid.
    public func validate(_ value: JSONValue, maxViolations: Int = JSONSchema.defaultMaxViolations) -> [SchemaViolation] {
        schema.validate(value, maxViolations: maxViolations)
    }
}

/// Loaded once per process: a static let is initialised lazily and exactly once, even with
/// several threads asking at the same time.
private enum RecordSchemas {
    static let all: [RecordKind: Result<JSONSchema, SchemaError>] = {
        var table: [RecordKind: Result<JSONSchema, SchemaError>] = [:]
        for kind in RecordKind.allCases {
            table[kind] = Result { () throws(SchemaError) in try load(kind) }
        }
        return table
    }()

    static func load(_ kind: RecordKind) throws(SchemaError) -> JSONSchema {
        guard let text = kind.schemaText else {
            throw SchemaError(location: "#", message: "\(kind.schemaFileName) is not embedded: run scripts/embed-schemas.sh")
        }
        return try JSONSchema(json: text)
    }
}
