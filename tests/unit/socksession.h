/*
 * socksession — a session (struct session from session_int.h) over a socketpair,
 * through our real plain driver (tls_low.c), for table-driven tests of what a
 * server sends. The "server" greets with PREAUTH, so no login is needed.
 *
 * Include after "session_int.h". socksession_open returns the
 * session (the caller session_close()s it) and, in *PEER, the server's
 * end of the pair (the caller closes it); NULL when setting up failed.
 * EARLY (LEN bytes, may be NULL) is written after the greeting, before
 * libetpan reads anything.
 */
#ifndef IMAPFS_TEST_SOCKSESSION_H
#define IMAPFS_TEST_SOCKSESSION_H

#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "session_int.h"
#include "tls.h"

static inline struct session *socksession_open(struct config *cfg, const char *early, size_t len,
					       int *peer)
{
	static const char greeting[] = "* PREAUTH hi\r\n";
	struct tls_trace tr = { .on = getenv("TRACE") != NULL };
	mailstream_low *low;
	struct session *s;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return NULL;
	*peer = sv[1];
	if (write(sv[1], greeting, sizeof(greeting) - 1) != (ssize_t)(sizeof(greeting) - 1) ||
	    (len > 0 && write(sv[1], early, len) != (ssize_t)len))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cfg = cfg;
	s->imap = mailimap_new(0, NULL);
	if (tls_low_plain(sv[0], cfg->timeout, tr, &low) != 0 ||
	    mailimap_connect(s->imap, mailstream_new(low, 16384)) != MAILIMAP_NO_ERROR_AUTHENTICATED)
		return NULL;
	return s;
}

/* A case's session: CFG set up (a 3 s timeout), the server's ANSWERS
 * written, and its side closed after them when EOF. */
static inline struct session *socksession_start(struct config *cfg, const char *answers, bool eof, int *peer)
{
	struct session *s;

	config_init(cfg);
	cfg->timeout = 3;
	s = socksession_open(cfg, answers, strlen(answers), peer);
	if (s != NULL && eof)
		shutdown(*peer, SHUT_WR);
	return s;
}

/* What the client wrote to PEER since the last call, NUL-terminated;
 * -> its length. */
static inline size_t socksession_sent(int peer, char *buf, size_t len)
{
	ssize_t r;

	usleep(50 * 1000);
	r = recv(peer, buf, len - 1, MSG_DONTWAIT);
	buf[r > 0 ? r : 0] = '\0';
	return r > 0 ? (size_t)r : 0;
}

/* Run every case of a table, then report: the main of a table-driven
 * test over socksessions. */
#define SOCKSESSION_MAIN(name, cases, run, more)                                   \
	int main(void)                                                             \
	{                                                                          \
		alarm(60);                                                         \
		signal(SIGPIPE, SIG_IGN);                                          \
		for (size_t i_ = 0; i_ < sizeof(cases) / sizeof((cases)[0]); i_++) \
			run(&(cases)[i_]);                                         \
		more;                                                              \
		return check_finish(name);                                         \
	}

#endif
