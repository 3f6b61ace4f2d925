/*
 * tcp — the socket under every IMAP connection: connect with a timeout,
 * wait for a socket within the thread's deadline, tell a loopback peer.
 *
 * Sockets are non-blocking; every wait is a poll() of at most the network
 * timeout, and never past the calling thread's deadline (deadline.h), so
 * a stalled or trickling server costs one operation that fails with
 * ETIMEDOUT, never a hung thread. The stream drivers (tls.h) and the TLS
 * handshake wait with tcp_wait too.
 *
 * Ownership: the caller of tcp_connect owns the socket it returns (a
 * stream driver takes it over). No state of its own; thread-safe.
 * Internal to src/.
 */
#ifndef IMAPFS_TCP_H
#define IMAPFS_TCP_H

#include <stdbool.h>

/* Resolve HOST and connect to PORT within TIMEOUT seconds. 0 and *FD (non-
 * blocking, close-on-exec, TCP_NODELAY), or -errno with a reason in ERR. */
int tcp_connect(const char *host, int port, int timeout, int *fd, char *err, unsigned errlen);

/* True when the socket's peer is a loopback address (127/8, ::1). */
bool tcp_fd_is_loopback(int fd);

/* Wait until FD is ready for EVENTS (POLLIN / POLLOUT), at most TIMEOUT_MS
 * and not past the thread's deadline: 0, -ETIMEDOUT, or -errno. */
int tcp_wait(int fd, short events, int timeout_ms);

#endif
