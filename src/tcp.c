/*
 * tcp — see tcp.h. Every address getaddrinfo gives is tried in turn, each
 * with the whole timeout; the error of the last one is the one reported.
 */
#include "tcp.h"
#include "deadline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Wait for EVENTS at most TIMEOUT_MS, and not past the thread's deadline
 * (re-read after every EINTR, so a signal cannot extend it). */
int tcp_wait(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t until = deadline_now_ms() + timeout_ms;
	int r, ms;

	for (;;) {
		ms = (int)(until - deadline_now_ms());
		if (ms < 0)
			ms = 0;
		ms = deadline_wait_ms(ms);
		if (ms == 0 && deadline_left_ms() == 0) {
			deadline_note_expired();
			return -ETIMEDOUT;
		}
		r = poll(&p, 1, ms);
		if (r >= 0 || errno != EINTR)
			break;
	}
	if (r < 0)
		return -errno;
	if (r == 0) {
		if (deadline_left_ms() == 0)
			deadline_note_expired();
		return -ETIMEDOUT;
	}
	return 0;
}

int tcp_connect(const char *host, int port, int timeout, int *fdp, char *err, unsigned errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	char portstr[16];
	int rc, fd = -1, gai;

	snprintf(portstr, sizeof(portstr), "%d", port);
	gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
		return -EHOSTUNREACH;
	}
	rc = -EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int soerr = 0, one = 1;
		socklen_t len = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			if (errno != EINPROGRESS) {
				rc = -errno;
				goto next;
			}
			rc = tcp_wait(fd, POLLOUT, timeout * 1000);
			if (rc < 0)
				goto next;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
				rc = -(soerr ? soerr : errno);
				goto next;
			}
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		freeaddrinfo(res);
		*fdp = fd;
		return 0;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	snprintf(err, errlen, "cannot connect to %s port %d: %s", host, port, strerror(-rc));
	return rc;
}

bool tcp_fd_is_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return sin6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}
