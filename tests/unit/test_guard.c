/*
 * test_guard — the guard (src/guard.c) on its own, table-driven: what real
 * servers send passes unchanged, what would crash libetpan, make it buffer
 * gigabytes or wrap a number is refused, and an empty [ALERT] / [PARSE]
 * is renamed. Every case runs twice: as one read, and one byte per read
 * (the guard must decide the same however the TLS records fall).
 */
#include "guard.h"

#include <errno.h>
#include <stdlib.h>

#include "check.h"

#define LIMIT 4096

static const struct {
	const char *name;
	const char *in;
	int ok;			/* 1: accepted whole, 0: refused */
	const char *out;	/* what libetpan gets when accepted (NULL: IN unchanged) */
} cases[] = {
	/* Dovecot */
	{ "dovecot greeting",
	  "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ APPENDLIMIT=35882577 "
	  "AUTH=PLAIN] Dovecot (Debian) ready.\r\n", 1, NULL },
	{ "dovecot select",
	  "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n"
	  "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded \\*)] Flags permitted.\r\n"
	  "* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 4294967295] UIDs valid\r\n"
	  "* OK [UIDNEXT 4] Predicted next UID\r\n* OK [HIGHESTMODSEQ 9223372036854775807] Highest\r\n"
	  "3 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n", 1, NULL },
	{ "dovecot metadata fetch",
	  "* 1 FETCH (UID 4294967295 RFC822.SIZE 4294967295 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
	  "FLAGS (\\Seen $Label1) MODSEQ (18446744073709551615))\r\n4 OK Fetch completed.\r\n", 1, NULL },
	{ "dovecot partial body",
	  "* 2 FETCH (UID 9 BODY[]<0> {12}\r\nSubject: x\r\n)\r\n5 OK Fetch completed.\r\n", 1, NULL },
	{ "dovecot list with a literal name",
	  "* LIST (\\HasNoChildren) \"/\" {7}\r\nweird\"x\r\n* LIST () \"/\" \"a{5}b \\\"q\\\"\"\r\n6 OK List completed.\r\n",
	  1, NULL },
	{ "dovecot status and search",
	  "* STATUS INBOX (MESSAGES 3 UNSEEN 1 UIDNEXT 4 UIDVALIDITY 1700000000 HIGHESTMODSEQ 12345678901234)\r\n"
	  "* SEARCH 1 2 3\r\n* VANISHED (EARLIER) 1:3,5\r\n* ESEARCH (TAG \"7\") UID ALL 1:3 MODSEQ 12345678901\r\n"
	  "7 OK done\r\n", 1, NULL },
	{ "dovecot progress text", "* OK Searched 76% of the mailbox, ETA 0:50 12345678901234\r\n", 1, NULL },
	/* Gmail and Outlook */
	{ "gmail greeting", "* OK Gimap ready for requests from 192.0.2.1 a1mb123456789pjb\r\n", 1, NULL },
	{ "gmail ids",
	  "* 1 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334865 UID 5 "
	  "X-GM-LABELS (\\Inbox \"{1}\"))\r\n", 1, NULL },
	{ "outlook greeting",
	  "* OK The Microsoft Exchange IMAP4 service is ready. [TQBOADAAUABSADAAMQBDAEEAMAAwADEANwAuAG4A]\r\n",
	  1, NULL },
	{ "literal bytes are never looked at",
	  "* 1 FETCH (UID 7 BODY[] {40}\r\n[ALERT]\r\n* OK {99}\r\n4294967299 {\"x\r\n)\r\n", 1, NULL },
	{ "literal of zero bytes, blanks before its CRLF", "* 1 FETCH (BODY[] {0}  \r\n)\r\n", 1, NULL },
	{ "literal ended by a bare LF", "* 1 FETCH (BODY[] {3}\nabc)\r\n", 1, NULL },
	{ "literal at the limit", "* 1 FETCH (BODY[] {4096}\r\n", 1, NULL },
	/* never asked for, and libetpan's ANNOTATEMORE parser crashes on a
	 * malformed one (fuzz_guard) */
	{ "annotation response", "* ANNOTATION \"/\" {4}\r\nIN{1\x03*", 0, NULL },
	{ "annotation response, lower case", "* annotation INBOX \"/comment\" (\"value.priv\" \"x\")\r\n",
	  0, NULL },
	{ "a word that only begins the same", "* ANNOTA x\r\n", 1, NULL },
	/* empty [ALERT] / [PARSE] renamed, with text left alone */
	{ "empty [ALERT]", "* OK [ALERT]\r\n", 1, "* OK [XLERT]\r\n" },
	{ "empty [PARSE], tagged, blanks", "9 NO [PARSE] \t \r\n", 1, "9 NO [XARSE] \t \r\n" },
	{ "empty [ alert ], bare LF", "* BYE [ alert ]\n", 1, "* BYE [ Xlert ]\n" },
	{ "empty [ALERT] in a continuation", "+ [ALERT]\r\n", 1, "+ [XLERT]\r\n" },
	/* found by fuzz_guard: libetpan skips blanks before the tag */
	{ "empty [ALERT] after blanks and an 8-bit tag", "\t \xea\xea\t OK [ALERT]\r}\r\n", 1,
	  "\t \xea\xea\t OK [XLERT]\r}\r\n" },
	{ "literal in a status after leading blanks", "  \t* OK x {5}\r\nabcde\r\n", 0, NULL },
	{ "empty [ALERT] then a NUL", "* OK [ALERT]\0x\r\n", 1, "* OK [XLERT]\0x\r\n" },
	{ "[ALERT] with text stays", "* OK [ALERT] disk full\r\n", 1, NULL },
	{ "[ALERT] after text stays", "* OK text [ALERT]\r\n", 1, NULL },
	{ "[ALERTS] stays", "* OK [ALERTS]\r\n", 1, NULL },
	/* refused */
	{ "literal-looking status text", "* OK text {100}\r\n* OK [ALERT]\r\n", 0, NULL },
	{ "literal in a tagged reply", "5 NO [BADCHARSET ({5}\r\nUTF-8)] no\r\n", 0, NULL },
	{ "literal in a continuation", "+ {5}\r\nabcde\r\n", 0, NULL },
	{ "literal of 2^32 + 3", "* 1 FETCH (BODY[] {4294967299}\r\nabc)\r\n", 0, NULL },
	{ "literal size of 11 digits", "* 1 FETCH (BODY[] {00000000003}\r\nabc)\r\n", 0, NULL },
	{ "literal above the limit", "* 1 FETCH (BODY[] {4097}\r\n", 0, NULL },
	{ "literal in mid line", "* 1 FETCH (BODY[] {3} abc)\r\n", 0, NULL },
	{ "literal then CR CR LF", "* 1 FETCH (BODY[] {3}\r\r\nabc)\r\n", 0, NULL },
	{ "LITERAL+ from a server", "* 1 FETCH (BODY[] {3+}\r\nabc)\r\n", 0, NULL },
	{ "quoted string across a line end", "* LIST () \"/\" \"abc {5}\r\nabcde\"\r\n", 0, NULL },
	{ "negative literal", "* 1 FETCH (BODY[] {-3}\r\n)\r\n", 0, NULL },
	{ "blank in a literal size", "* 1 FETCH (BODY[] { 3}\r\nabc)\r\n", 0, NULL },
	{ "UID of 2^32 + 2", "* 1 FETCH (UID 4294967298 RFC822.SIZE 10)\r\n", 0, NULL },
	{ "RFC822.SIZE of 2^64 + 7", "* 1 FETCH (UID 2 RFC822.SIZE 18446744073709551623)\r\n", 0, NULL },
	{ "EXISTS of 2^32", "* 4294967296 EXISTS\r\n", 0, NULL },
	{ "EXPUNGE of 11 digits", "* 00000000001 EXPUNGE\r\n", 0, NULL },
	{ "SEARCH above 2^32", "* SEARCH 1 4294967297\r\n", 0, NULL },
	{ "partial origin above 2^32", "* 1 FETCH (BODY[]<4294967296> {0}\r\n)\r\n", 0, NULL },
	{ "UIDNEXT code above 2^32", "* OK [UIDNEXT 4294967296] next\r\n", 0, NULL },
	{ "APPENDUID above 2^32", "4 OK [APPENDUID 1 4294967303] done\r\n", 0, NULL },
	{ "MODSEQ above 2^64", "* 1 FETCH (MODSEQ (18446744073709551616))\r\n", 0, NULL },
};

/* Feed IN in reads of STEP bytes (0: all at once) the way tls_low.c does:
 * bytes held back stay at the front of the buffer for the next call. */
static int run(const char *in, size_t len, size_t step, char *out, size_t *outlen)
{
	struct guard g;
	char buf[8192];
	size_t have = 0, pos = 0;

	guard_init(&g, 0);
	guard_set_limit(&g, LIMIT);
	*outlen = 0;
	while (pos < len) {
		size_t n = step == 0 || len - pos < step ? len - pos : step;
		long ok;

		memcpy(buf + have, in + pos, n);
		pos += n;
		ok = guard_scan(&g, buf, have, have + n);
		if (ok < 0)
			return (int)ok;
		memcpy(out + *outlen, buf, (size_t)ok);
		*outlen += (size_t)ok;
		have = have + n - (size_t)ok;
		memmove(buf, buf + ok, have);
		guard_consumed(&g, (size_t)ok);
	}
	/* what is still held would go with the next read: show it too */
	memcpy(out + *outlen, buf, have);
	*outlen += have;
	return 0;
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* a rename keeps the length; the NUL case has one NUL inside */
		size_t len = strlen(cases[i].in);
		const char *want = cases[i].out ? cases[i].out : cases[i].in;

		if (len == strlen("* OK [ALERT]") && memcmp(cases[i].in, "* OK [ALERT]", len) == 0 &&
		    cases[i].in[len + 1] == 'x')
			len += 4;
		for (size_t step = 0; step <= 1; step++) {
			char out[8192];
			size_t outlen;
			int rc = run(cases[i].in, len, step, out, &outlen);

			if (cases[i].ok) {
				CHECK(rc == 0, "%s (step %zu): refused (%d)", cases[i].name, step, rc);
				CHECK(rc != 0 || (outlen == len && memcmp(out, want, len) == 0),
				      "%s (step %zu): got %zu bytes: %s", cases[i].name, step, outlen,
				      (out[outlen < sizeof(out) ? outlen : sizeof(out) - 1] = '\0', check_q(out)));
			} else {
				CHECK(rc == -EPROTO || (rc == -EFBIG && strstr(cases[i].name, "limit")),
				      "%s (step %zu): accepted (%d)", cases[i].name, step, rc);
			}
		}
	}

	/* item 4: a literal over the limit is refused at its "{N}" line, before
	 * one byte of it is read, and the stream stays refused */
	{
		struct guard g;
		char line[] = "* 1 FETCH (UID 7 BODY[]<0> {99999999999}\r\n";
		char big[] = "* 1 FETCH (UID 7 BODY[]<0> {1000000000}\r\n";
		char more[] = "xxxx";

		guard_init(&g, 0);
		CHECK(guard_scan(&g, line, 0, strlen(line)) == -EPROTO, "11-digit literal accepted");
		guard_init(&g, 0);
		CHECK(guard_scan(&g, big, 0, strlen(big)) == -EFBIG, "1 GB literal accepted under the 1 MiB default");
		CHECK(guard_scan(&g, more, 0, 4) == -EFBIG, "stream usable after a refusal");
		guard_init(&g, 0);
		guard_set_limit(&g, 2000000000);
		CHECK(guard_scan(&g, big, 0, strlen(big)) == (long)strlen(big), "1 GB literal refused under a 2 GB limit");
	}
	/* an [ALERT] followed by many blanks is not held for ever */
	{
		struct guard g;
		char buf[600] = "* OK [ALERT]";
		size_t n = strlen(buf);
		long ok;

		memset(buf + n, ' ', sizeof(buf) - n);
		guard_init(&g, 0);
		ok = guard_scan(&g, buf, 0, sizeof(buf));
		CHECK(ok == (long)sizeof(buf) && buf[6] == 'X', "long blank run: %ld, %c", ok, buf[6]);
	}
	return check_finish("test_guard");
}
