/* The raw-socket baseline for large arguments: how many SIZE-byte round trips per second two
 * processes move over a local stream socket when they do nothing else (no parsing, no copies
 * beyond the kernel's). This is the ceiling for an executor link carrying SIZE-byte arguments
 * one way and a SIZE-byte result back; bench/run.sh args-1m quotes Switchyard against it.
 *
 *   link-baseline [--size BYTES] [--inflight N] [--seconds S] [--tcp | --relay]
 *
 * --tcp uses a loopback TCP connection instead of a Unix socket pair (the client's leg).
 * --relay puts a third process between the two, as a front sits between a client and an
 * executor: loopback TCP from this process to the relay, a Unix socket pair from the relay to
 * the echoing peer. The relay pumps bytes both ways through two buffers and parses nothing:
 * the ceiling of any two-hop server for SIZE-byte requests and answers.
 * Each message is a 20-byte header (length at offset 8, as in proto/) plus the payload; the
 * peer reads a whole message, then writes it back. Output: one line of key=value pairs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEADER 20

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(const struct rusage *ru) {
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6
         + (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

static int read_full(int fd, uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) { if (r < 0 && errno == EINTR) continue; return -1; }
        p += r; n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r <= 0) { if (r < 0 && errno == EINTR) continue; return -1; }
        p += r; n -= (size_t)r;
    }
    return 0;
}

/* The peer: echoes whole messages until EOF. */
static void echo_peer(int fd, size_t size) {
    uint8_t *buf = malloc(HEADER + size); /* Ownership: this process, freed at exit. */
    if (!buf) _exit(1);
    for (;;) {
        if (read_full(fd, buf, HEADER) != 0) break;
        uint32_t len;
        memcpy(&len, buf + 8, 4);
        len = ntohl(len);
        if (len > size || read_full(fd, buf + HEADER, len) != 0) break;
        if (write_full(fd, buf, HEADER + len) != 0) break;
    }
    _exit(0);
}

/* The relay: pumps bytes a <-> b until either side closes, through one buffer per direction. */
static void relay(int a, int b) {
    enum { BUF = 1 << 18 };
    uint8_t *buf[2] = { malloc(BUF), malloc(BUF) }; /* Ownership: this process, freed at exit. */
    size_t have[2] = { 0, 0 }, off[2] = { 0, 0 };  /* [0]: a -> b, [1]: b -> a */
    int from[2] = { a, b }, to[2] = { b, a };
    if (!buf[0] || !buf[1]) _exit(1);
    for (;;) {
        struct pollfd p[2] = { { .fd = a }, { .fd = b } };
        for (int d = 0; d < 2; d++) {
            if (have[d] == 0) p[d].events |= POLLIN;    /* from[d] is p[d] */
            else p[1 - d].events |= POLLOUT;            /* to[d] is p[1 - d] */
        }
        if (poll(p, 2, 1000) < 0) { if (errno == EINTR) continue; _exit(1); }
        for (int d = 0; d < 2; d++) {
            if (have[d] == 0 && (p[d].revents & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t r = recv(from[d], buf[d], BUF, MSG_DONTWAIT);
                if (r == 0) _exit(0);
                if (r > 0) { have[d] = (size_t)r; off[d] = 0; }
            }
            if (have[d] > 0) {
                ssize_t w = send(to[d], buf[d] + off[d], have[d] - off[d], MSG_DONTWAIT | MSG_NOSIGNAL);
                if (w > 0) { off[d] += (size_t)w; if (off[d] == have[d]) have[d] = 0; }
                else if (w < 0 && errno != EAGAIN && errno != EINTR) _exit(0);
            }
        }
    }
}

static void tcp_pair(int sv[2]) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0) { perror("listen"); exit(1); }
    sv[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(sv[0], (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); exit(1); }
    sv[1] = accept(l, NULL, NULL);
    close(l);
    int one = 1;
    setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int main(int argc, char **argv) {
    size_t size = 1 << 20;
    int inflight = 8;
    double seconds = 5;
    int tcp = 0, relayed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) size = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--inflight") && i + 1 < argc) inflight = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--tcp")) tcp = 1;
        else if (!strcmp(argv[i], "--relay")) relayed = 1;
        else { fprintf(stderr, "usage: %s [--size BYTES] [--inflight N] [--seconds S] [--tcp | --relay]\n", argv[0]); return 2; }
    }
    if (size < 1 || size > (1u << 30) || inflight < 1 || seconds <= 0 || seconds > 60) {
        fprintf(stderr, "size 1..1 GiB, inflight >= 1, seconds 0..60\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int sv[2];
    if (tcp || relayed) tcp_pair(sv);
    else if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) { perror("socketpair"); return 1; }
    pid_t child = -1, relay_pid = -1;
    if (relayed) {
        int link[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, link) != 0) { perror("socketpair"); return 1; }
        child = fork();
        if (child == 0) { close(sv[0]); close(sv[1]); close(link[0]); echo_peer(link[1], size); }
        relay_pid = fork();
        if (relay_pid == 0) { close(sv[0]); close(link[1]); relay(sv[1], link[0]); }
        close(link[0]);
        close(link[1]);
    } else {
        child = fork();
        if (child == 0) { close(sv[0]); echo_peer(sv[1], size); }
    }
    close(sv[1]);
    int fd = sv[0];

    /* One message, sent `inflight` times ahead; a message is answered whole before the next. */
    size_t msg_len = HEADER + size;
    uint8_t *out = calloc(1, msg_len), *in = malloc(msg_len); /* Ownership: main, freed at exit. */
    if (!out || !in) return 1;
    uint32_t be = htonl((uint32_t)size);
    memcpy(out + 8, &be, 4);
    memset(out + HEADER, 'x', size);

    struct pollfd p = { .fd = fd };
    size_t out_off = 0, in_off = 0;
    long sent = 0, received = 0;
    int sending = 1;
    double start = now_s(), deadline = start + seconds;
    while (received < sent || sending) {
        if (sending && now_s() >= deadline) sending = 0;
        int can_send = sending && sent - received < inflight;
        if (!can_send && out_off == 0 && received == sent) break;
        p.events = POLLIN | ((can_send || out_off > 0) ? POLLOUT : 0);
        if (poll(&p, 1, 1000) < 0) { if (errno == EINTR) continue; perror("poll"); return 1; }
        if ((p.revents & POLLOUT) && (can_send || out_off > 0)) {
            ssize_t w = send(fd, out + out_off, msg_len - out_off, MSG_DONTWAIT);
            if (w > 0) { out_off += (size_t)w; if (out_off == msg_len) { out_off = 0; sent++; } }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, in + in_off, msg_len - in_off, MSG_DONTWAIT);
            if (r == 0) { fprintf(stderr, "peer closed\n"); return 1; }
            if (r > 0) { in_off += (size_t)r; if (in_off == msg_len) { in_off = 0; received++; } }
        }
    }
    double elapsed = now_s() - start;
    close(fd);
    /* The CPU time of the "server" side (the relay and the echoing peer; the peer alone without
     * a relay), to compare with a server's requests per CPU-second: steadier than the rate on a
     * shared machine. */
    double server_cpu = 0;
    struct rusage ru;
    if (relay_pid > 0 && wait4(relay_pid, NULL, 0, &ru) > 0) server_cpu += cpu_s(&ru);
    if (wait4(child, NULL, 0, &ru) > 0) server_cpu += cpu_s(&ru);
    double rt = (double)received / elapsed;
    printf("link=%s size=%zu inflight=%d seconds=%.2f round_trips=%ld round_trips_per_s=%.0f mb_per_s_each_way=%.0f"
           " server_cpu_s=%.2f round_trips_per_server_cpu_s=%.0f\n",
           relayed ? "relay" : tcp ? "tcp-loopback" : "unix", size, inflight, elapsed, received, rt, rt * (double)size / 1e6,
           server_cpu, server_cpu > 0 ? (double)received / server_cpu : 0);
    free(out);
    free(in);
    return 0;
}
