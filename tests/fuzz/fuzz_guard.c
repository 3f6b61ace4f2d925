/*
 * fuzz_guard — libFuzzer target for what a server's bytes meet in
 * production: our real driver (tls_low.c's plain driver, with the guard of
 * guard.c in its read path) under libetpan's parser (mailimap_connect,
 * mailimap_parse_response through session_list / session_fetch_meta /
 * session_fetch_body / session_fetch_bodies, the last one the streamed
 * FETCH of whole bodies that crashed the daemon in issue 10). The bytes go
 * through a socketpair, so the driver reads them as from a server socket;
 * the end of the input is the server closing its side.
 *
 * fuzz_fetch drives libetpan over a memory driver without the guard, and
 * has to skip inputs with an empty [ALERT]; this target skips nothing:
 * whatever a server sends must end in a clean result (0 or -errno), never
 * a crash, an ASan report, a hang or an allocation of the size a literal
 * claims.
 *
 * Input: byte 0 picks the first command (the others follow while the
 * session is not broken) and whether the greeting announces CONDSTORE;
 * the rest is the server's reply, at most MAX_INPUT bytes (what a
 * socketpair holds without a reader). src/session_int.h gives its
 * private struct, as in fuzz_fetch; log.c is replaced by silent stubs.
 */
#include "session_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls.h"

#include "silent_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT	(64 * 1024)

/* ---- callbacks ----------------------------------------------------------- */

static void list_cb(void *ctx, const char *name, char delim, const char *attrs, bool noselect)
{
	if (name == NULL || attrs == NULL)
		abort();
	(void)strlen(name);
	(void)strlen(attrs);
}

static int meta_cb(void *ctx, const struct session_msg *m)
{
	if (m->uid == 0)
		abort();	/* session_fetch.c filters UID 0 out */
	return 0;
}

static int body_cb(void *ctx, uint32_t uid, const char *data, size_t len)
{
	/* a literal is at most the bound of the fetch below (4096); a quoted
	 * body is at most the input */
	if (len > MAX_INPUT || (len > 0 && data == NULL))
		abort();
	if (uid != 7 && uid != 9)
		abort();	/* session_fetch.c passes only UIDs asked for */
	if (len > 0)
		(void)(data[0] + data[len - 1]);
	return 0;
}

/* Functions return 0 or -errno; never a positive value or a libetpan code. */
static void check_rc(int rc)
{
	if (rc > 0 || rc < -4095)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char greet_plain[] = "* PREAUTH fuzz\r\n";
	static const char greet_cs[] = "* PREAUTH [CAPABILITY IMAP4rev1 CONDSTORE UIDPLUS] fuzz\r\n";
	static const uint32_t uids[] = { 7, 9 };
	struct tls_trace trace = { .on = false, .id = 0 };
	struct config cfg;
	struct session *s;
	mailstream_low *low;
	const char *greeting;
	unsigned first, i;
	int sv[2], r;

	if (size < 1 || size > MAX_INPUT)
		return 0;
	first = data[0] % 4;
	greeting = (data[0] & 0x80) ? greet_cs : greet_plain;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	{
		int bufsz = 4 * MAX_INPUT;

		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	}
	if (write(sv[1], greeting, strlen(greeting)) != (ssize_t)strlen(greeting))
		abort();

	config_init(&cfg);
	cfg.timeout = 2;	/* the input is all there: a wait is a bug */
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		abort();
	s->cfg = &cfg;
	s->imap = mailimap_new(0, NULL);
	if (s->imap == NULL || tls_low_plain(sv[0], cfg.timeout, trace, &low) != 0)
		abort();
	r = mailimap_connect(s->imap, mailstream_new(low, 16384));
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED)
		abort();	/* our own greeting */
	/* as if session_select had run */
	s->imap->imap_state = MAILIMAP_STATE_SELECTED;
	s->selected = strdup("INBOX");

	/* the server's bytes arrive after the greeting was read, as they would */
	if (size > 1) {
		size_t off = 1;

		while (off < size) {
			ssize_t w = write(sv[1], data + off, size - off);

			if (w <= 0)
				abort();	/* SO_SNDBUF holds MAX_INPUT */
			off += (size_t)w;
		}
	}
	shutdown(sv[1], SHUT_WR);

	for (i = 0; i < 4 && !s->broken; i++) {
		int rc = 0;

		switch ((first + i) % 4) {
		case 0:
			rc = session_list(s, "*", list_cb, NULL);
			break;
		case 1:
			rc = session_fetch_meta(s, 1, 0, meta_cb, NULL);
			break;
		case 2: {
			char *buf = NULL;
			size_t got = 0;

			rc = session_fetch_body(s, 7, 0, 4096, &buf, &got);
			if (rc == 0) {
				if (buf == NULL || got > 4096)
					abort();
				free(buf);
			} else if (buf != NULL) {
				abort();	/* an error must hand back no buffer */
			}
			break;
		}
		case 3:
			rc = session_fetch_bodies(s, uids, 2, 4096, body_cb, NULL);
			break;
		}
		check_rc(rc);
	}
	session_close(s);
	close(sv[1]);
	config_free(&cfg);
	return 0;
}
