/*
 * test_hostile — server replies that once hung or crashed the daemon, fed
 * through our real plain driver (tls_low.c) and session code (session_*.c) over a
 * socketpair, table-driven. Each case must end with a clean result, within
 * the alarm: a hang or a crash fails the test.
 *
 * The session is built by hand (PREAUTH greeting, SELECTED state) so no
 * network and no server are needed; session_int.h gives its private
 * struct.
 */
#include "session_int.h"

#include <signal.h>

#include "check.h"
#include "socksession.h"

static const struct {
	const char *name;
	const char *server;	/* bytes the "server" sends after the greeting */
	bool close_after;	/* then half-close (FIN) */
	int want_rc;		/* 0, or any negative (-1) */
	size_t want_got;	/* bytes of body expected when want_rc == 0 */
} cases[] = {
	/* libetpan retried a 0-byte read forever at EOF inside a literal */
	{ "eof inside a literal", "* 1 FETCH (UID 7 BODY[]<0> {99999}\r\nabc", true, -1, 0 },
	/* libetpan 1.9.4 crashed (strdup(NULL)) on a code without text */
	{ "empty [ALERT] before the reply",
	  "* OK [ALERT]\r\n* 1 FETCH (UID 7 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n", false, 0, 3 },
	{ "empty [ALERT] with blanks", "* OK [ALERT]   \r\n* 1 FETCH (UID 7 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n",
	  false, 0, 3 },
	{ "empty [PARSE] in the tagged reply", "1 NO [PARSE]\r\n", false, -1, 0 },
	{ "[ALERT] with text still parses",
	  "* OK [ALERT] disk almost full\r\n* 1 FETCH (UID 7 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n", false, 0, 3 },
	{ "garbage instead of a reply", "\x01\x02 garbage (((\r\n", true, -1, 0 },
	{ "BYE in the middle", "* BYE going away\r\n", true, -1, 0 },
	/* the guard against that crash must never touch message bytes */
	{ "[ALERT] inside a message body stays",
	  "* 1 FETCH (UID 7 BODY[]<0> {9}\r\n[ALERT]\r\n)\r\n1 OK done\r\n", false, 0, 9 },
	{ "reply for another UID only", "* 1 FETCH (UID 8 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n", false, -1, 0 },
	/* issue 10 item 3: "{N}" at the end of status text is no literal for
	 * libetpan; the old guard skipped the next line as one and let an
	 * empty [ALERT] through (SIGSEGV) */
	{ "literal-looking text then empty [ALERT]",
	  "* OK text {100}\r\n* OK [ALERT]\r\n* 1 FETCH (UID 7 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n"
	  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
	  false, -1, 0 },
	/* a literal of 2^32 + 3: libetpan wraps it to 3, the old guard did not */
	{ "literal of 2^32 + 3 bytes",
	  "* 1 FETCH (UID 7 BODY[]<0> {4294967299}\r\nabc)\r\n* OK [ALERT]\r\n1 OK done\r\n", false, -1, 0 },
	{ "literal size of 11 digits", "* 1 FETCH (UID 7 BODY[]<0> {99999999999}\r\nabc)\r\n1 OK done\r\n",
	  true, -1, 0 },
	/* item 4: more than the window asked for is refused (test_guard.c
	 * checks it happens before the bytes are read) */
	{ "literal longer than the window",
	  "* 1 FETCH (UID 7 BODY[]<0> {5000}\r\n", true, -1, 0 },
	/* item 12: UIDs above 2^32 - 1 wrap onto small ones in libetpan */
	{ "UID 2^32 + 7", "* 1 FETCH (UID 4294967303 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n", false, -1, 0 },
	{ "UID 2^64 + 7", "* 1 FETCH (UID 18446744073709551623 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n",
	  false, -1, 0 },
	{ "EXISTS above 2^32", "* 4294967298 EXISTS\r\n* 1 FETCH (UID 7 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n",
	  false, -1, 0 },
	/* legal: MODSEQ is 63-bit (RFC 7162) */
	{ "64-bit MODSEQ passes",
	  "* 1 FETCH (UID 7 MODSEQ (9223372036854775807) BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n", false, 0, 3 },
	{ "big number in status text passes",
	  "* OK [HIGHESTMODSEQ 9223372036854775807] 99999999999 is only text\r\n"
	  "* 1 FETCH (UID 7 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n", false, 0, 3 },
	/* the forms of an empty [ALERT] libetpan also accepts */
	{ "empty [ALERT] then a tab", "* OK [ALERT]\t\r\n* 1 FETCH (UID 7 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n",
	  false, 0, 3 },
	{ "empty [ alert ] with blanks inside",
	  "* OK [ alert ]\r\n* 1 FETCH (UID 7 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n", false, 0, 3 },
	{ "empty [PARSE] after a bare LF", "* NO [PARSE]\n* 1 FETCH (UID 7 BODY[]<0> {3}\r\nabc)\r\n1 OK done\r\n",
	  false, 0, 3 },
};

static int run_case(size_t i)
{
	struct config cfg;
	struct session *s;
	char *buf = NULL;
	size_t got = 0;
	int peer = -1, rc;
	size_t len = strlen(cases[i].server);

	config_init(&cfg);
	cfg.timeout = 3;
	s = socksession_open(&cfg, NULL, 0, &peer);
	if (s == NULL)
		return -101;
	/* the rest only now: the guard checks bytes as they arrive */
	if (write(peer, cases[i].server, len) != (ssize_t)len)
		return -100;
	if (cases[i].close_after)
		shutdown(peer, SHUT_WR);
	s->imap->imap_state = MAILIMAP_STATE_SELECTED;
	rc = session_fetch_body(s, 7, 0, 4096, &buf, &got);
	CHECK(cases[i].want_rc == 0 ? rc == 0 : rc < 0, "%s: rc %d", cases[i].name, rc);
	if (rc == 0)
		CHECK(got == cases[i].want_got &&
		      memcmp(buf, got == 9 ? "[ALERT]\r\n" : "abc", got) == 0,
		      "%s: got %zu bytes: %.*s", cases[i].name, got, (int)got, buf);
	free(buf);
	session_close(s);
	close(peer);
	config_free(&cfg);
	return 0;
}

int main(void)
{
	size_t i;

	/* a hang is a failure: SIGALRM ends the process with a non-zero status */
	alarm(30);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(run_case(i) == 0, "%s: setup failed", cases[i].name);
	return check_finish("test_hostile");
}
