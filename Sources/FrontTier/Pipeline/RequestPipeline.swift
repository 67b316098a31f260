/// What a stage did with a request.
enum StageOutcome {
    /// Pass the request on to the next stage.
    case proceed
    /// The stage answered (or will answer) the request itself: the chain ends here.
    case answered
    /// The stage waits for something (a key set, a shared counter) and kept
    /// `request.detached(pool:)`; it calls `RequestPipeline.resume(_:after:)` when done.
    case suspended
}

/// One step of the request pipeline, with one job (check the origin, decide the era, ...).
/// Like an Envoy HTTP filter or a Hummingbird middleware: it can answer the request locally
/// (through `FrontServices.writer`), pass it on, or suspend it. Stages run on the loop thread
/// and must not block it.
protocol RequestStage: AnyObject {
    /// A name for logs and the README's stage table.
    var name: String { get }
    func process(_ request: inout FrontRequest) -> StageOutcome
}

/// The ordered stages every MCP POST passes through, ending with the method handler.
///
/// Order (README.md, "Request pipeline"): origin → authentication → media types and envelope
/// → era and session → batch → authorization → [rate limit] → argument validation → [result
/// cache] → method. Stages that a configuration does not use are not in the list at all.
/// Thread: the loop thread.
final class RequestPipeline {
    let stages: [any RequestStage]

    init(stages: [any RequestStage]) { self.stages = stages }

    /// Runs `request` through the stages from `index` until one answers or suspends.
    func run(_ request: inout FrontRequest, from index: Int = 0) {
        var i = index
        while i < stages.count {
            switch stages[i].process(&request) {
            case .proceed: i += 1
            case .answered, .suspended: return
            }
        }
    }

    /// Continues a suspended request with the stage after `stage`.
    func resume(_ request: FrontRequest, after stage: any RequestStage) {
        guard let i = stages.firstIndex(where: { $0 === stage }) else { return }
        var r = request
        run(&r, from: i + 1)
    }
}
