import MCPCore

/// Compiled schemas by their bytes, so identical schemas (a tool hosted by several
/// executors, or unchanged across catalog rebuilds) compile once. Each rebuild makes a new
/// cache that takes what it needs from the previous one: only schemas in use are kept.
public struct SchemaCache {
    private var entries: [[UInt8]: Result<CompiledSchema, SchemaError>] = [:]
    /// Compilations this cache did itself (not taken from the previous one).
    public private(set) var compilations = 0

    public init() {}

    /// The compiled form of `schema`, from this cache, `previous`, or compiled now.
    public mutating func schema(_ schema: JSONValue, reusing previous: SchemaCache? = nil)
        -> Result<CompiledSchema, SchemaError> {
        let key = schema.compactJSONBytes()
        if let hit = entries[key] { return hit }
        if let hit = previous?.entries[key] {
            entries[key] = hit
            return hit
        }
        let result = Result { () throws(SchemaError) -> CompiledSchema in try CompiledSchema(schema) }
        compilations += 1
        entries[key] = result
        return result
    }

    public var count: Int { entries.count }
}
