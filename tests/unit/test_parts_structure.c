/*
 * test_parts_structure — session_fetch_structure (src/session_parts.c):
 * a BODYSTRUCTURE answer, over a socketpair with a scripted "server"
 * (socksession.h), becomes the plain part tree with IMAP part numbers and
 * decoded file names, and then the entries of .parts/UID/ (mime_parts.c).
 * The first answer is Dovecot 2.3's, word for word, for a message with an
 * alternative (plain, html), a PDF named in RFC 2231 and a forwarded
 * message holding a text and a PNG named in RFC 2047. Then: no structure
 * for the UID asked, and a structure nested deeper than the bound.
 * session_fetch_sections: the command for each section spelling, answers
 * matched by section and origin, a server that answers another section,
 * origin or length (EIO, the session dropped), and spellings refused
 * before anything is sent.
 */
#include "session_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/socket.h>

#include "check.h"
#include "mime_parts.h"
#include "socksession.h"

#define DOVECOT "* 1 FETCH (UID 7 BODYSTRUCTURE (((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL " \
	"\"quoted-printable\" 15 0 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"base64\" " \
	"12 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"b2\") NIL NIL NIL)(\"application\" \"pdf\" " \
	"(\"name\" \"report.pdf\") NIL NIL \"base64\" 12 NIL (\"attachment\" (\"filename*\" " \
	"\"UTF-8''%E2%82%AC%20rates.pdf\")) NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 259 (NIL " \
	"\"inner\" ((NIL NIL \"c\" \"x\")) ((NIL NIL \"c\" \"x\")) ((NIL NIL \"c\" \"x\")) NIL NIL NIL NIL NIL) " \
	"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL)(\"image\" " \
	"\"png\" (\"name\" \"=?UTF-8?B?w7xiZXIucG5n?=\") NIL NIL \"base64\" 8 NIL NIL NIL NIL) \"mixed\" " \
	"(\"boundary\" \"b3\") NIL NIL NIL) 15 NIL (\"attachment\" (\"filename\" \"fwd.eml\")) NIL NIL) " \
	"\"mixed\" (\"boundary\" \"b1\") NIL NIL NIL))\r\n1 OK done\r\n"

static const char *list(const struct mime_entry *e, size_t n)
{
	static char buf[1024];

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(buf, i ? "|" : "");
		strcat(buf, e[i].name);
		if (e[i].kind == MIME_MESSAGE)
			strcat(buf, "/");
	}
	return buf;
}

/* A session with a mailbox selected (as far as libetpan knows: a FETCH
 * needs the selected state) and the server's ANSWERS queued. */
static struct session *open_with(struct config *cfg, const char *answers, int *peer)
{
	struct session *s = socksession_start(cfg, answers, false, peer);

	if (s != NULL)
		s->imap->imap_state = MAILIMAP_STATE_SELECTED;
	return s;
}

/* session_fetch_sections: what is sent for each spelling, answers matched
 * by section and origin, and a server that sends what was not asked. */
static const struct {
	const char *answer;
	int rc;
	const char *got0, *got1;	/* NULL: no answer for it */
	bool broken;
} sec_cases[] = {
	{ "* 1 FETCH (UID 7 BODY[2.1]<0> {3}\r\nabc BODY[2.1]<100> {2}\r\nyz)\r\n1 OK done\r\n", 0, "abc", "yz",
	  false },
	/* in the other order, and the second missing */
	{ "* 1 FETCH (BODY[2.1]<0> {3}\r\nabc UID 7)\r\n1 OK done\r\n", 0, "abc", NULL, false },
	/* another origin than asked: the bytes would land in the wrong place */
	{ "* 1 FETCH (UID 7 BODY[2.1]<5> {3}\r\nabc)\r\n1 OK done\r\n", -EIO, NULL, NULL, true },
	/* another section */
	{ "* 1 FETCH (UID 7 BODY[3]<0> {3}\r\nabc)\r\n1 OK done\r\n", -EIO, NULL, NULL, true },
	/* more than asked for */
	{ "* 1 FETCH (UID 7 BODY[2.1]<0> {5}\r\nabcde)\r\n1 OK done\r\n", -EIO, NULL, NULL, true },
	/* nothing for this UID */
	{ "* 1 FETCH (UID 8 BODY[2.1]<0> {3}\r\nabc)\r\n1 OK done\r\n", -ENOENT, NULL, NULL, false },
};

/* The end of one scripted session. */
static void done_with(struct session *s, int peer, struct config *cfg)
{
	if (s != NULL)
		session_close(s);
	close(peer);
	config_free(cfg);
}

static void sections(void)
{
	static const char *const bad[] = { "2.", ".2", "02", "2..1", "2.x", "HEADER.2", "2.TEXT", "MIME", "2 1",
					   "2\r\n", "99999999999", "2.HEADER.1" };
	struct config cfg;
	struct session *s;
	char out[2048];
	int peer, rc;

	for (size_t i = 0; i < sizeof(sec_cases) / sizeof(sec_cases[0]); i++) {
		struct session_section r[2] = {
			{ .section = "2.1", .off = 0, .len = 4 },
			{ .section = "2.1", .off = 100, .len = 4 },
		};

		s = open_with(&cfg, sec_cases[i].answer, &peer);
		rc = s != NULL ? session_fetch_sections(s, 7, r, 2) : -1;
		socksession_sent(peer, out, sizeof(out));
		CHECK(strcmp(out, "1 UID FETCH 7 (BODY.PEEK[2.1]<0.4> BODY.PEEK[2.1]<100.4> UID)\r\n") == 0,
		      "sent %s", check_q(out));
		CHECK(rc == sec_cases[i].rc, "case %zu: rc %d", i, rc);
		CHECK((r[0].buf == NULL) == (sec_cases[i].got0 == NULL) &&
		      (r[0].buf == NULL || strcmp(r[0].buf, sec_cases[i].got0) == 0), "case %zu: first", i);
		CHECK((r[1].buf == NULL) == (sec_cases[i].got1 == NULL) &&
		      (r[1].buf == NULL || strcmp(r[1].buf, sec_cases[i].got1) == 0), "case %zu: second", i);
		CHECK(s != NULL && session_broken(s) == sec_cases[i].broken, "case %zu: broken", i);
		free(r[0].buf);
		free(r[1].buf);
		done_with(s, peer, &cfg);
	}

	/* the spellings: whole, header, a nested header; no other byte */
	s = open_with(&cfg, "* 1 FETCH (UID 7 BODY[] {1}\r\na BODY[HEADER] {1}\r\nb BODY[3.HEADER] {1}\r\nc)\r\n"
			    "1 OK done\r\n", &peer);
	{
		struct session_section r[3] = {
			{ .section = "", .max = 10 }, { .section = "HEADER", .max = 10 },
			{ .section = "3.HEADER", .max = 10 },
		};

		rc = s != NULL ? session_fetch_sections(s, 7, r, 3) : -1;
		socksession_sent(peer, out, sizeof(out));
		CHECK(strcmp(out, "1 UID FETCH 7 (BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[3.HEADER] UID)\r\n") == 0,
		      "sent %s", check_q(out));
		CHECK(rc == 0 && r[0].buf && r[1].buf && r[2].buf && strcmp(r[0].buf, "a") == 0 &&
		      strcmp(r[1].buf, "b") == 0 && strcmp(r[2].buf, "c") == 0, "spellings: %d", rc);
		for (int i = 0; i < 3; i++)
			free(r[i].buf);
	}
	done_with(s, peer, &cfg);

	/* two pieces from one place, the larger answered first: each gets
	 * the answer it fits */
	s = open_with(&cfg, "* 1 FETCH (UID 7 BODY[1]<0> {10}\r\n0123456789 BODY[1]<0> {4}\r\nabcd)\r\n"
			    "1 OK done\r\n", &peer);
	{
		struct session_section r[2] = { { .section = "1", .len = 4 }, { .section = "1", .len = 11 } };

		rc = s != NULL ? session_fetch_sections(s, 7, r, 2) : -1;
		CHECK(rc == 0 && r[0].buf && r[1].buf && strcmp(r[0].buf, "abcd") == 0 &&
		      strcmp(r[1].buf, "0123456789") == 0, "order: %d", rc);
		free(r[0].buf);
		free(r[1].buf);
	}
	done_with(s, peer, &cfg);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct session_section r = { .section = bad[i], .len = 4 };

		s = open_with(&cfg, "1 OK done\r\n", &peer);
		rc = s != NULL ? session_fetch_sections(s, 7, &r, 1) : -1;
		CHECK(rc == -EINVAL && r.buf == NULL, "section %s refused: %d", check_q(bad[i]), rc);
		if (s != NULL)
			session_close(s);
		socksession_sent(peer, out, sizeof(out));
		CHECK(strstr(out, "FETCH") == NULL, "section %s: nothing sent (%s)", check_q(bad[i]), check_q(out));
		close(peer);
		config_free(&cfg);
	}
}

int main(void)
{
	struct mime_part p;
	struct mime_entry *e;
	struct config cfg;
	struct session *s;
	char out[2048], deep[8192];
	size_t n;
	int peer, rc;

	alarm(60);
	signal(SIGPIPE, SIG_IGN);

	s = open_with(&cfg, DOVECOT, &peer);
	CHECK(s != NULL, "setup");
	rc = session_fetch_structure(s, 7, &p, NULL, NULL);
	socksession_sent(peer, out, sizeof(out));
	CHECK(strcmp(out, "1 UID FETCH 7 (BODYSTRUCTURE UID)\r\n") == 0, "sent %s", check_q(out));
	CHECK(rc == 0, "rc %d", rc);
	if (rc == 0) {
		CHECK(p.nchild == 3 && strcmp(p.subtype, "mixed") == 0, "top");
		CHECK(strcmp(p.child[0].child[0].section, "1.1") == 0 &&
		      strcmp(p.child[0].child[0].encoding, "quoted-printable") == 0 &&
		      strcmp(p.child[0].child[0].charset, "utf-8") == 0, "1.1");
		CHECK(strcmp(p.child[1].section, "2") == 0 && p.child[1].attachment && p.child[1].size == 12,
		      "2");
		CHECK(mime_entries(&p, NULL, &e, &n) == 0, "entries");
		CHECK(strcmp(list(e, n), "header|text|html|raw|1.1|1.2|2|3/|€ rates.pdf|fwd.eml") == 0,
		      "entries: %s", list(e, n));
		mime_entries_free(e, n);
		CHECK(p.child[2].nchild == 1 && mime_entries(&p.child[2].child[0], &p.child[2], &e, &n) == 0,
		      "nested");
		CHECK(strcmp(list(e, n), "header|text|raw|3.1|3.2|über.png") == 0, "nested: %s", list(e, n));
		mime_entries_free(e, n);
		mime_part_clear(&p);
	}
	CHECK(!session_broken(s), "usable");
	session_close(s);
	close(peer);
	config_free(&cfg);

	/* an answer for another UID only: none for ours */
	s = open_with(&cfg, "* 1 FETCH (UID 8 BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1 NIL NIL "
			    "NIL NIL))\r\n1 OK done\r\n", &peer);
	rc = s != NULL ? session_fetch_structure(s, 7, &p, NULL, NULL) : -1;
	CHECK(rc == -ENOENT, "other UID: %d", rc);
	if (s != NULL)
		session_close(s);
	close(peer);
	config_free(&cfg);

	/* a single part: the body is part 1 */
	s = open_with(&cfg, "* 1 FETCH (UID 7 BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1 NIL NIL "
			    "NIL NIL))\r\n1 OK done\r\n", &peer);
	rc = s != NULL ? session_fetch_structure(s, 7, &p, NULL, NULL) : -1;
	CHECK(rc == 0 && strcmp(p.section, "1") == 0 && p.nchild == 0, "single: %d", rc);
	if (rc == 0)
		mime_part_clear(&p);
	if (s != NULL)
		session_close(s);
	close(peer);
	config_free(&cfg);

	/* nested deeper than the bound: refused, nothing leaks */
	{
		size_t k = 0;
		int levels = 40;

		k += (size_t)snprintf(deep + k, sizeof(deep) - k, "* 1 FETCH (UID 7 BODYSTRUCTURE ");
		for (int i = 0; i < levels; i++)
			deep[k++] = '(';
		k += (size_t)snprintf(deep + k, sizeof(deep) - k, "\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1");
		for (int i = 0; i < levels - 1; i++)
			k += (size_t)snprintf(deep + k, sizeof(deep) - k, ") \"mixed\"");
		k += (size_t)snprintf(deep + k, sizeof(deep) - k, "))\r\n1 OK done\r\n");
		s = open_with(&cfg, deep, &peer);
		rc = s != NULL ? session_fetch_structure(s, 7, &p, NULL, NULL) : -1;
		CHECK(rc == -EPROTO, "deep: %d", rc);
		if (s != NULL)
			session_close(s);
		close(peer);
		config_free(&cfg);
	}
	sections();
	return check_finish("test_parts_structure");
}
