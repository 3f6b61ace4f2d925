/*
 * sdnotify — the service manager's notification socket (see sdnotify.h).
 *
 * $NOTIFY_SOCKET is an absolute path, or a name in the abstract namespace
 * when it starts with '@' (that '@' stands for the leading NUL byte, and
 * the address has no trailing NUL). Anything else (a relative path, a
 * vsock: address of newer managers) is ignored rather than guessed at.
 * Each message opens its own socket: there are two in a mount's life, and
 * no descriptor is left open for helpers to inherit.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"

/* Written once by sdnotify_take_env before any thread exists; read-only
 * afterwards, so no lock. */
static struct sockaddr_un notify_addr;
static socklen_t notify_len;	/* 0: no service manager */

void sdnotify_take_env(void)
{
	const char *e = getenv("NOTIFY_SOCKET");
	size_t n;

	notify_len = 0;
	if (e == NULL)
		return;
	n = strlen(e);
	if ((e[0] == '/' || e[0] == '@') && n >= 2 && n < sizeof(notify_addr.sun_path)) {
		memset(&notify_addr, 0, sizeof(notify_addr));
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, e, n);
		if (e[0] == '@') {
			notify_addr.sun_path[0] = '\0';
			notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
		} else {
			notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
		}
	}
	unsetenv("NOTIFY_SOCKET");
}

int sdnotify_send(const char *state)
{
	size_t len = strlen(state);
	ssize_t sent;
	int fd, rc = 0;

	if (notify_len == 0)
		return 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&notify_addr, notify_len);
	if (sent < 0)
		rc = -errno;
	else if ((size_t)sent != len)
		rc = -EMSGSIZE;
	close(fd);
	return rc;
}

/* Send STATE, logging a failure: under Type=notify a
 * lost READY=1 makes the start time out, and the log should say why. */
static void send_logged(const char *state)
{
	int rc = sdnotify_send(state);

	if (rc < 0)
		log_warn("cannot notify the service manager: %s", strerror(-rc));
}

/* A newline in a mount point's name would start a line of its own
 * (MAINPID=...): names go in with control bytes escaped, as in the log. */
void sdnotify_ready(const char *src, const char *mnt)
{
	char s[400], m[400], buf[1024];

	log_escape(src, s, sizeof(s));
	log_escape(mnt, m, sizeof(m));
	snprintf(buf, sizeof(buf), "READY=1\nSTATUS=Mounted %s on %s", s, m);
	send_logged(buf);
}

void sdnotify_stopping(const char *mnt)
{
	char m[400], buf[512];

	log_escape(mnt, m, sizeof(m));
	snprintf(buf, sizeof(buf), "STOPPING=1\nSTATUS=Unmounted %s", m);
	send_logged(buf);
}
