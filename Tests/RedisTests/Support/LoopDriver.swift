import EventLoop
import Foundation
@testable import Redis

/// Runs `loop` until `condition` holds or `seconds` pass; true if it held.
@discardableResult
func runLoop(_ loop: Loop, seconds: Double, until condition: @escaping () -> Bool) -> Bool {
    if condition() { return true }
    let deadline = Date().addingTimeInterval(seconds)
    var held = false
    let poll = EventLoop.Timer(loop: loop) {
        if condition() { held = true; loop.stop() }
        else if Date() >= deadline { loop.stop() }
    }
    poll.start(after: 1, repeat: 2)
    loop.run()
    poll.close()
    // Let the close callback (and any deferred release) run.
    let settle = EventLoop.Timer(loop: loop) { loop.stop() }
    settle.start(after: 0)
    loop.run()
    return held
}

/// Runs the loop for `seconds` whatever happens.
func spin(_ loop: Loop, seconds: Double) {
    _ = runLoop(loop, seconds: seconds) { false }
}

/// Sends one command and waits for its reply on the loop.
func roundTrip(_ loop: Loop, _ client: RedisClient, _ args: [String], key: String? = nil, seconds: Double = 5) -> RedisReply? {
    var result: RedisReply?
    client.send(args.map { Array($0.utf8) }, key: key.map { Array($0.utf8) }) { result = $0 }
    runLoop(loop, seconds: seconds) { result != nil }
    return result
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
