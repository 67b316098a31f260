// redis-client-bench: pipelined commands/s and CPU per command of the Redis client
// (Sources/Redis) against one redis-server. bench/redis-client/run.sh runs it beside
// redis-benchmark. Kept tiny: the work is in RedisClientBench.swift (see SWIFT-C-NOTES on main.swift).
RedisClientBench.main(Array(CommandLine.arguments.dropFirst()))
