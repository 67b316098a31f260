import Glibc
import MCPCore
import ToolSDK

/// The `chaos` tool pack: misbehaving tools for fault-tolerance tests. Never serve it to users.
public enum ChaosPack {
    public static var tools: [Tool] { [spin, crash] }

    /// Burns CPU for `ms` milliseconds and ignores cancellation: a tool stuck in a loop.
    public static let spin = Tool(
        name: "chaos_spin", description: "Busy-loops for the given milliseconds, ignoring cancellation (a stuck tool).",
        inputSchema: DemoPack.schema(["ms": "number"], required: ["ms"])
    ) { call in
        let ms = try call.number("ms")
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let end = Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6 + ms
        var x: UInt64 = 1
        while true {
            for _ in 0..<10_000 { x = x &* 6364136223846793005 &+ 1442695040888963407 }
            clock_gettime(CLOCK_MONOTONIC, &ts)
            if Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6 >= end { break }
        }
        return .text("spun \(x & 1)")
    }

    /// Kills its own executor process at once, mid-call.
    public static let crash = Tool(
        name: "chaos_crash", description: "Terminates the executor process immediately (SIGKILL to itself).",
        inputSchema: .object(["type": .string("object")])
    ) { _ in
        kill(getpid(), SIGKILL)
        return .text("unreachable")
    }
}
