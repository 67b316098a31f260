import Glibc

/// s6-style readiness: when SWITCHYARD_READY_FD names a descriptor, write "READY\n" to it once.
public enum Readiness {
    public static func notify() {
        guard let raw = getenv("SWITCHYARD_READY_FD"), let fd = Int32(String(cString: raw)) else { return }
        let msg = "READY\n"
        _ = msg.withCString { Glibc.write(fd, $0, 6) }
        close(fd)
        unsetenv("SWITCHYARD_READY_FD")
    }
}
