/*
 * test_load — session_load (src/session_load.c): a folder's first listing
 * as one flight of SELECT (or EXAMINE), UID FETCH 1:* and MYRIGHTS, over a
 * socketpair with a scripted "server" (socksession.h). Each case writes
 * the server's answers first, runs session_load, and checks what was
 * sent, what was listed, the selection and rights it left, and whether
 * the session is still usable. The cases are what servers do: answer in
 * order, finish the MYRIGHTS before the long FETCH (Dovecot), refuse the
 * SELECT and answer the FETCH from the mailbox selected before (nothing
 * of it may be listed), say [ALREADYEXISTS] (asked once more), send no
 * UIDVALIDITY, or drop the connection.
 */
#include "session_int.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>

#include "check.h"
#include "socksession.h"

#define FLIGHT "1 SELECT \"INBOX\"\r\n2 UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS)\r\n" \
	       "3 MYRIGHTS \"INBOX\"\r\n"
#define SELECTED "* 2 EXISTS\r\n* OK [UIDVALIDITY 9] v\r\n* OK [UIDNEXT 6] n\r\n"
#define MSG(uid) "* 1 FETCH (UID " #uid " RFC822.SIZE 10 INTERNALDATE \"01-Jan-2020 00:00:00 +0000\" " \
		 "FLAGS (\\Seen))\r\n"

static uint32_t listed[8];
static size_t nlisted;

static int list_cb(void *ctx, const struct session_msg *m)
{
	(void)ctx;
	if (nlisted < 8)
		listed[nlisted] = m->uid;
	nlisted++;
	return 0;
}

struct load_case {
	const char *name;
	const char *answers;	/* what the server sends */
	bool eof;		/* and then closes its side */
	const char *want_sent;
	int want_rc;
	uint32_t want_uids[3];	/* listed, 0-ended */
	uint32_t want_uidvalidity;
	const char *want_rights;	/* NULL: none */
	bool want_selected, want_broken;
};

static const struct load_case cases[] = {
	{ "in order", SELECTED "1 OK [READ-WRITE] ok\r\n" MSG(4) MSG(5) "2 OK f\r\n"
	  "* MYRIGHTS \"INBOX\" lrswi\r\n3 OK r\r\n", false, FLIGHT,
	  0, { 4, 5 }, 9, "lrswi", true, false },
	{ "MYRIGHTS finished before the FETCH", SELECTED "1 OK ok\r\n* MYRIGHTS INBOX lr\r\n3 OK r\r\n"
	  MSG(4) "2 OK f\r\n", false, FLIGHT,
	  0, { 4 }, 9, "lr", true, false },
	/* RFC 3501 has no mailbox selected after a failed SELECT; this
	 * server kept the one before and answers the FETCH from it */
	{ "SELECT refused, FETCH answered from the folder before", "1 NO [NONEXISTENT] no such\r\n"
	  MSG(4) "2 OK f\r\n* MYRIGHTS INBOX lr\r\n3 OK r\r\n", false, FLIGHT,
	  -ENOENT, { 0 }, 0, NULL, false, false },
	{ "[ALREADYEXISTS]: the flight once more", "1 NO [ALREADYEXISTS] exists\r\n" MSG(4)
	  "2 BAD no mailbox selected\r\n3 OK r\r\n" SELECTED "4 OK ok\r\n" MSG(5) "5 OK f\r\n6 OK r\r\n", false,
	  FLIGHT "4 SELECT \"INBOX\"\r\n5 UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS)\r\n"
	  "6 MYRIGHTS \"INBOX\"\r\n",
	  0, { 5 }, 9, NULL, true, false },
	{ "no UIDVALIDITY", "1 OK ok\r\n" MSG(4) "2 OK f\r\n3 OK r\r\n", false, FLIGHT,
	  -EIO, { 0 }, 0, NULL, false, true },
	{ "dropped after the SELECT's answer", SELECTED "1 OK ok\r\n" MSG(4), true, FLIGHT,
	  -EIO, { 0 }, 0, NULL, false, true },
	{ "MYRIGHTS refused: rights not known", SELECTED "1 OK ok\r\n" MSG(4) "2 OK f\r\n3 NO not yours\r\n",
	  false, FLIGHT, 0, { 4 }, 9, NULL, true, false },
};

static void run_case(const struct load_case *k)
{
	struct session_mbox mb = { 0 };
	struct config cfg;
	struct session *s;
	char out[1024], *rights = (char *)"unset";
	int peer = -1, rc;
	size_t want_n = 0;

	s = socksession_start(&cfg, k->answers, k->eof, &peer);
	CHECK(s != NULL, "%s: setup", k->name);
	if (s == NULL)
		return;
	nlisted = 0;
	rc = session_load(s, "INBOX", false, 1, &mb, list_cb, NULL, &rights);
	socksession_sent(peer, out, sizeof(out));
	CHECK(strcmp(out, k->want_sent) == 0, "%s: sent %s", k->name, check_q(out));
	CHECK(rc == k->want_rc, "%s: returned %d, want %d", k->name, rc, k->want_rc);
	while (want_n < 3 && k->want_uids[want_n] != 0)
		want_n++;
	/* (a failed load may have listed part; the caller drops it) */
	if (rc == 0 || k->want_rc == -ENOENT) {
		CHECK(nlisted == want_n, "%s: %zu listed, want %zu", k->name, nlisted, want_n);
		for (size_t i = 0; i < want_n && i < nlisted; i++)
			CHECK(listed[i] == k->want_uids[i], "%s: listed UID %u, want %u", k->name, listed[i],
			      k->want_uids[i]);
	}
	if (rc == 0)
		CHECK(mb.uidvalidity == k->want_uidvalidity, "%s: UIDVALIDITY %u", k->name, mb.uidvalidity);
	CHECK(k->want_rights == NULL ? rights == NULL : rights != NULL && strcmp(rights, k->want_rights) == 0,
	      "%s: rights %s", k->name, rights ? rights : "(none)");
	CHECK((session_selected(s) != NULL) == k->want_selected, "%s: selected %s", k->name,
	      session_selected(s) ? session_selected(s) : "(none)");
	CHECK(session_broken(s) == k->want_broken, "%s: broken %d", k->name, session_broken(s));
	if (!k->want_broken) {
		/* in step: the next command has the next tag and its own answer */
		char noop[32];
		int tag = s->imap->imap_tag + 1;

		snprintf(noop, sizeof(noop), "%d OK noop\r\n", tag);
		CHECK(write(peer, noop, strlen(noop)) == (ssize_t)strlen(noop), "%s: write", k->name);
		rc = session_rc(s, mailimap_noop(s->imap), "NOOP");
		CHECK(rc == 0, "%s: then NOOP rc %d", k->name, rc);
	}
	if (rights != NULL && strcmp(rights, "unset") != 0)
		free(rights);
	session_close(s);
	close(peer);
	config_free(&cfg);
}

SOCKSESSION_MAIN("test_load", cases, run_case, (void)0)
