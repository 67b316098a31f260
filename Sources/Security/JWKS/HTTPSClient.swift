import COpenSSL
import Glibc

/// A minimal, blocking HTTPS GET for the JWKS: one connection, TLS 1.2+, the server's
/// certificate chain verified against the system CAs (or a given CA file) and its name against
/// the URL's host; the whole exchange bounded in time and size. Call it off the loop thread.
enum HTTPSClient {
    struct Failure: Error, Equatable, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The body of a 200 answer to `GET url`.
    static func get(_ url: HTTPSURL, caFile: String?, timeoutMs: Int = 5_000, maxBytes: Int = 1 << 20)
        throws(Failure) -> [UInt8] {
        let deadline = monotonicMs() + timeoutMs
        let fd = try connect(url, deadline: deadline)
        defer { close(fd) }
        // Ownership: the context and the connection are freed here on every path; SSL_free
        // does not close `fd` (closed by the defer above).
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw Failure("TLS setup failed") }
        defer { SSL_CTX_free(ctx) }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        // Bodies end at the server's close; HTTP framing, not close_notify, decides completeness.
        _ = SSL_CTX_set_options(ctx, ignoreUnexpectedEOF)
        let loaded = caFile.map { SSL_CTX_load_verify_locations(ctx, $0, nil) } ?? SSL_CTX_set_default_verify_paths(ctx)
        guard loaded == 1 else {
            ERR_clear_error()
            throw Failure("cannot load CA certificates" + (caFile.map { " from \($0)" } ?? ""))
        }
        guard let ssl = SSL_new(ctx) else { throw Failure("TLS setup failed") }
        defer { SSL_free(ssl) }
        SSL_set_fd(ssl, fd)
        if url.hostIsAddress {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host)
        } else {
            _ = url.host.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
            SSL_set1_host(ssl, url.host)
        }
        guard SSL_connect(ssl) == 1 else {
            let verify = SSL_get_verify_result(ssl)
            ERR_clear_error()
            if verify != Int(X509_V_OK) {
                throw Failure("certificate of \(url.host) not trusted: \(String(cString: X509_verify_cert_error_string(verify)))")
            }
            throw Failure("TLS handshake with \(url.host) failed")
        }
        let hostHeader = url.host.contains(":") ? "[\(url.host)]" : url.host
        let request = "GET \(url.target) HTTP/1.1\r\nHost: \(hostHeader)" + (url.port == 443 ? "" : ":\(url.port)")
            + "\r\nAccept: application/json, application/jwk-set+json\r\nUser-Agent: switchyard\r\nConnection: close\r\n\r\n"
        let sent = Array(request.utf8)
        guard SSL_write(ssl, sent, Int32(sent.count)) == Int32(sent.count) else {
            ERR_clear_error()
            throw Failure("sending the request to \(url.host) failed")
        }
        var response: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        let limit = maxBytes + 16384 // the head on top of the body
        while true {
            let left = deadline - monotonicMs()
            guard left > 0 else { throw Failure("timed out after \(timeoutMs) ms") }
            // Each read may wait only for what is left: a server dripping bytes cannot stretch it.
            setTimeouts(fd, ms: left)
            let n = SSL_read(ssl, &buf, Int32(buf.count))
            if n > 0 {
                response += buf[0..<Int(n)]
                guard response.count <= limit else { throw Failure("answer larger than \(maxBytes) bytes") }
                continue
            }
            let error = SSL_get_error(ssl, n)
            ERR_clear_error()
            if error == SSL_ERROR_ZERO_RETURN || n == 0 { break }
            if error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw Failure("timed out after \(timeoutMs) ms")
            }
            throw Failure("reading the answer from \(url.host) failed")
        }
        let answer: HTTPResponse
        do { answer = try HTTPResponse.parse(response) } catch { throw Failure("bad HTTP answer: \(error.reason)") }
        guard answer.status == 200 else { throw Failure("HTTP status \(answer.status)") }
        guard answer.body.count <= maxBytes else { throw Failure("answer larger than \(maxBytes) bytes") }
        return answer.body
    }

    /// A connected TCP socket to the URL's host, trying each address in turn; blocking, with
    /// send and receive timeouts set to what is left of the deadline.
    static func connect(_ url: HTTPSURL, deadline: Int) throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        // Ownership: the address list is freed here.
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(url.host, String(url.port), &hints, &list) == 0, let first = list else {
            throw Failure("cannot resolve \(url.host)")
        }
        defer { freeaddrinfo(first) }
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let ai = node {
            node = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            if connectWithin(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen, deadline: deadline) { return fd }
            close(fd)
        }
        throw Failure("cannot connect to \(url.host):\(url.port)")
    }

    static func connectWithin(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>!, _ length: socklen_t,
                              deadline: Int) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(fd, address, length) != 0 {
            guard errno == EINPROGRESS else { return false }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let left = deadline - monotonicMs()
            guard left > 0, poll(&p, 1, Int32(left)) == 1 else { return false }
            var error: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0, error == 0 else { return false }
        }
        _ = fcntl(fd, F_SETFL, flags)
        setTimeouts(fd, ms: max(1, deadline - monotonicMs()))
        return true
    }

    /// Send and receive timeouts of a blocking socket.
    static func setTimeouts(_ fd: Int32, ms: Int) {
        var tv = timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// SSL_OP_IGNORE_UNEXPECTED_EOF, bit 7 (the macro is an expression Swift does not import).
    static let ignoreUnexpectedEOF: UInt64 = 1 << 7

    static func monotonicMs() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
    }
}
