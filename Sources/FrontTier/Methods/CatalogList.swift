import CSupport
import MCPCore

/// `tools/list`, `resources/list`, `resources/templates/list`, `prompts/list` (both eras): one
/// page of the merged catalog of the executors, for the request's era. Cursors are opaque
/// (`base64url("<member>:<offset>")`); a cursor that is not one of ours is invalid params.
final class CatalogList: MethodHandler {
    private let s: FrontServices
    private let member: String
    private let entries: KeyPath<MergedCatalog.Lists, [[UInt8]]>

    init(_ services: FrontServices, member: String, _ entries: KeyPath<MergedCatalog.Lists, [[UInt8]]>) {
        s = services
        self.member = member
        self.entries = entries
    }

    func handle(_ r: inout FrontRequest) {
        let stateless = r.isStateless
        let list = s.pool.catalog.lists[stateless ? 1 : 0][keyPath: entries]
        let cursor = r.envelope.raw.params.kind == Int32(SY_JSON_OBJECT)
            ? r.envelope.params(in: r.body)?["cursor"]?.stringValue : nil
        do throws(ProtocolError) {
            s.writer.result(r.target, try page(list, cursor: cursor, stateless: stateless))
        } catch {
            s.writer.error(r.target, error)
        }
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
