/// The one list of request stages both transports use, so a limit, the audit log or the result
/// cache configured once holds over HTTP and over stdio alike (README.md, "Request pipeline").
extension RequestPipeline {
    /// `origin`: the HTTP front's origin check; nil for stdio, which also has no media types
    /// (each line is a JSON-RPC message by definition) and no credentials (`services.access`
    /// is nil there: the client launched the process). Stages a configuration does not use are
    /// left out.
    static func standard(_ services: FrontServices, _ methods: MethodTable, origin: OriginStage?) -> RequestPipeline {
        let batch = BatchStage(services: services, methods: methods)
        var stages: [any RequestStage] = []
        if let origin { stages.append(origin) }
        if services.options.auditLogPath != nil { stages.append(AuditStage(services: services)) }
        if let access = services.access {
            stages.append(AuthenticationStage(access: access, writer: services.writer))
        }
        if origin != nil { stages.append(MediaTypeStage(writer: services.writer)) }
        let era = EraStage(services: services, methods: methods)
        stages += [era, batch]
        if let access = services.access {
            stages.append(AuthorizationStage(access: access, writer: services.writer, methods: methods))
        }
        var rateLimit: RateLimitStage?
        if !services.options.rateLimits.isEmpty {
            rateLimit = RateLimitStage(services: services, methods: methods)
            stages.append(rateLimit!)
        }
        if services.options.validateArguments {
            stages.append(ArgumentValidationStage(services: services, methods: methods))
        }
        var cacheStage: ResultCacheStage?
        if let cache = services.resultCache {
            cacheStage = ResultCacheStage(services: services, cache: cache, methods: methods)
            stages.append(cacheStage!)
        }
        stages.append(MethodStage(services: services, table: methods))
        let pipeline = RequestPipeline(stages: stages)
        batch.pipeline = pipeline
        era.pipeline = pipeline
        cacheStage?.pipeline = pipeline
        rateLimit?.pipeline = pipeline
        return pipeline
    }
}
