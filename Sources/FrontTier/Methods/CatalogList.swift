import CSupport
import MCPCore
import Security

/// `tools/list`, `resources/list`, `resources/templates/list`, `prompts/list` (both eras): one
/// page of the merged catalog of the executors, for the request's era. Cursors are opaque
/// (`base64url("<member>:<offset>")`); a cursor that is not one of ours is invalid params.
/// With a policy, each caller sees only the entries it may use (offsets count those).
final class CatalogList: MethodHandler {
    private let s: FrontServices
    private let member: String
    private let entries: KeyPath<MergedCatalog.Lists, MergedCatalog.Entries>
    /// What the policy calls these entries.
    private let kind: Policy.Kind

    init(_ services: FrontServices, member: String, _ entries: KeyPath<MergedCatalog.Lists, MergedCatalog.Entries>,
         kind: Policy.Kind) {
        s = services
        self.member = member
        self.entries = entries
        self.kind = kind
    }

    func handle(_ r: inout FrontRequest) {
        let stateless = r.isStateless
        let all = s.pool.catalog.lists[stateless ? 1 : 0][keyPath: entries]
        var list = all.json
        if let policy = s.access?.policy {
            let principal = r.principal
            list = zip(all.json, all.names).compactMap { json, name in
                policy.check(principal, kind, Self.policyName(name, kind: kind, member: member)) == nil ? json : nil
            }
        }
        let cursor = r.envelope.raw.params.kind == Int32(SY_JSON_OBJECT)
            ? r.envelope.params(in: r.body)?["cursor"]?.stringValue : nil
        do throws(ProtocolError) {
            s.writer.result(r.target, try page(list, cursor: cursor, stateless: stateless))
        } catch {
            s.writer.error(r.target, error)
        }
    }

    /// The name the policy knows an entry by: a template's literal prefix (before its first
    /// variable), so that a resource rule on a URI prefix covers the templates under it.
    static func policyName(_ name: String, kind: Policy.Kind, member: String) -> String {
        guard member == "resourceTemplates", let brace = name.firstIndex(of: "{") else { return name }
        return String(name[..<brace])
    }

    /// `options.listPageSize` entries from the cursor's offset, with a `nextCursor` when more follow.
    func page(_ list: [[UInt8]], cursor: String?, stateless: Bool) throws(ProtocolError) -> [UInt8] {
        var start = 0
        if let cursor {
            guard let raw = Base64URL.decode(cursor), let text = String(validating: raw, as: UTF8.self),
                  text.hasPrefix(member + ":"), let n = Int(text.dropFirst(member.count + 1)),
                  n >= 0, n <= list.count else {
                throw ProtocolError(.invalidParams, "Invalid params: unknown cursor")
            }
            start = n
        }
        let end = min(list.count, start + s.options.listPageSize)
        var out = Array("{\"\(member)\":[".utf8)
        for i in start..<end {
            if i > start { out.append(UInt8(ascii: ",")) }
            out += list[i]
        }
        out.append(UInt8(ascii: "]"))
        if end < list.count {
            out += Array(",\"nextCursor\":\"\(Base64URL.encode(Array("\(member):\(end)".utf8)))\"".utf8)
        }
        if stateless { out += Array(",\"resultType\":\"complete\",\"ttlMs\":0,\"cacheScope\":\"private\"".utf8) }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
