import MCPCore
import ToolSDK

/// The `forms` pack: a tool whose input schema uses nested objects, enums, patterns, arrays,
/// `oneOf` and a `$ref`, to show (and test) the front's argument validation
/// (`switchyard serve --tools demo,forms`).
public enum FormsPack {
    public static var tools: [Tool] { [bookMeeting] }

    static let meetingSchema = """
        {"type":"object",
         "properties":{
           "title":{"type":"string","minLength":1,"maxLength":80},
           "when":{"type":"object",
                   "properties":{"date":{"type":"string","pattern":"^[0-9]{4}-[0-9]{2}-[0-9]{2}$","format":"date"},
                                 "hour":{"type":"integer","minimum":0,"maximum":23}},
                   "required":["date"],"additionalProperties":false},
           "priority":{"enum":["low","normal","high"]},
           "attendees":{"type":"array","items":{"type":"string","format":"email"},"maxItems":10,"uniqueItems":true},
           "repeat":{"oneOf":[{"const":"never"},{"$ref":"#/$defs/every"}]}},
         "$defs":{"every":{"type":"object","properties":{"days":{"type":"integer","minimum":1}},
                           "required":["days"],"additionalProperties":false}},
         "required":["title","when"],
         "additionalProperties":false}
        """

    public static let bookMeeting = Tool.immediate(
        name: "book_meeting", title: "Book a meeting",
        description: "Books a meeting (nothing is stored): a title, a date and hour, attendees, a priority.",
        inputSchema: try! JSONValue.parse(Array(meetingSchema.utf8)),
        annotations: ToolAnnotations(readOnlyHint: true, destructiveHint: false, idempotentHint: true,
                                     openWorldHint: false)
    ) { call in
        let title = try call.string("title")
        let date = call.arguments["when"]?["date"]?.stringValue ?? "?"
        let people = (call.arguments["attendees"].flatMap { if case .array(let a) = $0 { a.count } else { nil } }) ?? 0
        return .text("booked \(title) on \(date) with \(people) attendees")
    }
}
