/*
 * test_wire — the gate that keeps CR, LF and NUL out of IMAP command text
 * (src/wire.c), checked against the bytes libetpan's own senders produce.
 *
 * The security review's vectors are here: a mailbox name holding
 * "\r\nZ9 DELETE Victim\r\n", a keyword with a space or CR LF, a LOGIN
 * user with CR LF. For each, the gate refuses it; and had it not, the
 * outgoing framing check would have refused the bytes libetpan made of it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "log.h"
#include "memstream.h"
#include "wire.h"

static const struct {
	const char *s;
	int want;
} astrings[] = {
	{ "INBOX", 0 },
	{ "Archive/2024", 0 },
	{ "with space", 0 },
	{ "quote\" and \\backslash", 0 },
	{ "&AOQ-rger", 0 },
	{ "caf\xc3\xa9", 0 },	/* 8-bit: quoted as is (some servers take UTF-8) */
	{ "", 0 },
	{ "{5}", 0 },		/* quoted by libetpan, not a literal */
	{ "x\r\nZ9 DELETE Victim\r\nZ8 NOOP", -EINVAL },
	{ "nl\nX", -EINVAL },
	{ "cr\rX", -EINVAL },
	{ "\r", -EINVAL },
	{ "\n", -EINVAL },
	{ "trailing\r\n", -EINVAL },
};

static const struct {
	const char *s;
	int want;
} flags[] = {
	{ "\\Seen", 0 },
	{ "\\Foo", 0 },
	{ "$Label1", 0 },
	{ "NonJunk", 0 },
	{ "a.b-c_d+e", 0 },
	{ "", -EINVAL },
	{ "\\", -EINVAL },
	{ "two words", -EINVAL },
	{ "a\r\nZ9 DELETE Victim", -EINVAL },
	{ "paren)", -EINVAL },
	{ "(paren", -EINVAL },
	{ "brace{", -EINVAL },
	{ "pct%", -EINVAL },
	{ "star*", -EINVAL },
	{ "quote\"", -EINVAL },
	{ "back\\slash", -EINVAL },
	{ "\\\\Seen", -EINVAL },
	{ "bracket]", -EINVAL },
	{ "tab\t", -EINVAL },
	{ "del\x7f", -EINVAL },
	{ "caf\xc3\xa9", -EINVAL },
};

/* Whole sent streams, as libetpan writes them, and what the framing check
 * must say. Fed in one piece and byte by byte. */
static const struct {
	const char *what;
	const char *bytes;
	size_t len;		/* 0: strlen */
	int want;
} streams[] = {
	{ "create", "A1 CREATE \"Foo Bar\"\r\n", 0, 0 },
	{ "two commands", "A1 NOOP\r\nA2 NOOP\r\n", 0, 0 },
	{ "escaped quote", "A1 CREATE \"a\\\"b\\\\\"\r\n", 0, 0 },
	{ "append literal with CR LF inside",
	  "A1 APPEND INBOX {12}\r\nab\r\ncd\r\n\0\0fg\r\n", 36, 0 },
	{ "literal+", "A1 LOGIN {3+}\r\nu\r\n \"p\"\r\n", 0, 0 },
	{ "zero literal", "A1 X {0}\r\n\r\n", 0, 0 },
	{ "quoted CR LF injection", "A1 CREATE \"x\r\nZ9 DELETE Victim\r\nZ8 NOOP\"\r\n", 0, -EPROTO },
	{ "quoted LF", "A1 SELECT \"nl\nX\"\r\n", 0, -EPROTO },
	{ "bare LF", "A1 NOOP\n", 0, -EPROTO },
	{ "bare CR", "A1 NOOP\rA2", 0, -EPROTO },
	{ "NUL", "A1 NO\0OP\r\n", 11, -EPROTO },
	{ "NUL in quotes", "A1 \"a\0b\"\r\n", 10, -EPROTO },
	{ "literal count over 32 bits", "A1 APPEND INBOX {4294967296}\r\n", 0, -EPROTO },
	{ "brace not a literal", "A1 X {12} y\r\n", 0, 0 },
};


/* The exact bytes libetpan's CREATE sender writes for NAME. */
static char *libetpan_create(const char *name, size_t *len)
{
	mailstream *st = memstream_new();
	const char *b;
	char *copy;

	if (st == NULL)
		return NULL;
	mailimap_create_send(st, name);
	mailimap_crlf_send(st);
	b = memstream_bytes(st, len);
	copy = malloc(*len + 1);
	if (copy != NULL) {
		memcpy(copy, b, *len);
		copy[*len] = '\0';
	}
	mailstream_close(st);
	return copy;
}

static int scan_all(const char *b, size_t n, bool bytewise)
{
	struct wire_out w;
	size_t i;
	int rc = 0;

	wire_out_init(&w);
	if (!bytewise)
		return wire_out_scan(&w, b, n);
	for (i = 0; i < n && rc == 0; i++)
		rc = wire_out_scan(&w, b + i, 1);
	return rc;
}

/* Command text built with wire_cmd_*: one piece each, what it must give. */
enum piece { P_SYNTAX, P_QUOTED, P_FLAG, P_NUMBER };
static const struct {
	enum piece kind;
	const char *s;
	uint64_t n;
	const char *want;	/* the text after "T ", or NULL: refused */
	int err;
} pieces[] = {
	{ P_SYNTAX, "UID STORE ", 0, "UID STORE ", 0 },
	{ P_SYNTAX, " +FLAGS.SILENT (", 0, " +FLAGS.SILENT (", 0 },
	{ P_SYNTAX, "", 0, "", 0 },
	{ P_SYNTAX, "NOOP\r\nZ9 DELETE Victim", 0, NULL, -EINVAL },
	{ P_SYNTAX, "X\n", 0, NULL, -EINVAL },
	{ P_SYNTAX, "\"open quote", 0, NULL, -EINVAL },
	{ P_SYNTAX, "{5+}", 0, NULL, -EINVAL },
	{ P_SYNTAX, "back\\slash", 0, NULL, -EINVAL },
	{ P_SYNTAX, "tab\t", 0, NULL, -EINVAL },
	{ P_SYNTAX, "8bit\xc3\xa9", 0, NULL, -EINVAL },
	{ P_QUOTED, "INBOX", 0, "\"INBOX\"", 0 },
	{ P_QUOTED, "a\"b\\c", 0, "\"a\\\"b\\\\c\"", 0 },
	{ P_QUOTED, "", 0, "\"\"", 0 },
	{ P_QUOTED, "{5}", 0, "\"{5}\"", 0 },
	{ P_QUOTED, "caf\xc3\xa9", 0, "\"caf\xc3\xa9\"", 0 },
	{ P_QUOTED, "x\r\nZ9 DELETE Victim", 0, NULL, -EINVAL },
	{ P_QUOTED, "nl\n", 0, NULL, -EINVAL },
	{ P_QUOTED, "cr\r", 0, NULL, -EINVAL },
	{ P_QUOTED, NULL, 0, NULL, -EINVAL },
	{ P_FLAG, "\\Seen", 0, "\\Seen", 0 },
	{ P_FLAG, "$Label1", 0, "$Label1", 0 },
	{ P_FLAG, "a\r\nZ9 DELETE Victim", 0, NULL, -EINVAL },
	{ P_FLAG, "two words", 0, NULL, -EINVAL },
	{ P_FLAG, "paren)", 0, NULL, -EINVAL },
	{ P_FLAG, "", 0, NULL, -EINVAL },
	{ P_NUMBER, NULL, 0, "0", 0 },
	{ P_NUMBER, NULL, 4294967295u, "4294967295", 0 },
	{ P_NUMBER, NULL, 18446744073709551615u, "18446744073709551615", 0 },
};

static const struct {
	uint32_t uids[8];
	size_t n;
	const char *want;	/* NULL: refused */
} uidsets[] = {
	{ { 7 }, 1, "7" },
	{ { 1, 2, 3 }, 3, "1:3" },
	{ { 1, 3, 5 }, 3, "1,3,5" },
	{ { 3, 4, 5, 9, 11, 12, 4294967294u, 4294967295u }, 8, "3:5,9,11:12,4294967294:4294967295" },
	{ { 0 }, 0, NULL },		/* empty */
	{ { 0, 1 }, 2, NULL },		/* UID 0 does not exist */
	{ { 5, 3 }, 2, NULL },		/* not ascending */
	{ { 3, 3 }, 2, NULL },		/* repeated */
};

/* Every piece kind into one buffer; the text must pass the framing check. */
static void wire_cmd_tests(void)
{
	char buf[128], small[8];
	struct wire_cmd c;
	size_t i;

	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		wire_cmd_init(&c, buf, sizeof(buf));
		wire_cmd_syntax(&c, "T ");
		switch (pieces[i].kind) {
		case P_SYNTAX: wire_cmd_syntax(&c, pieces[i].s); break;
		case P_QUOTED: wire_cmd_quoted(&c, pieces[i].s); break;
		case P_FLAG: wire_cmd_flag(&c, pieces[i].s, strlen(pieces[i].s)); break;
		case P_NUMBER: wire_cmd_number(&c, pieces[i].n); break;
		}
		/* a later good piece does not clear an error */
		wire_cmd_syntax(&c, " NOOP");
		CHECK(c.err == pieces[i].err, "piece %zu %s: err %d, want %d", i,
		      check_q(pieces[i].s ? pieces[i].s : "(number)"), c.err, pieces[i].err);
		if (pieces[i].want != NULL && c.err == 0) {
			char want[128];

			snprintf(want, sizeof(want), "T %s NOOP", pieces[i].want);
			CHECK(check_streq(buf, want), "piece %zu: %s, want %s", i, check_q(buf), check_q(want));
			CHECK(strlen(buf) == c.len, "piece %zu: len", i);
			memcpy(buf + c.len, "\r\n", 3);
			CHECK(scan_all(buf, c.len + 2, false) == 0, "piece %zu: framing refused %s", i,
			      check_q(buf));
		}
	}
	for (i = 0; i < sizeof(uidsets) / sizeof(uidsets[0]); i++) {
		wire_cmd_init(&c, buf, sizeof(buf));
		wire_cmd_uidset(&c, uidsets[i].uids, uidsets[i].n);
		if (uidsets[i].want == NULL)
			CHECK(c.err == -EINVAL, "uidset %zu: err %d, want -EINVAL", i, c.err);
		else
			CHECK(c.err == 0 && check_streq(buf, uidsets[i].want) &&
			      c.len <= WIRE_UIDSET_MAX(uidsets[i].n), "uidset %zu: %s (err %d), want %s", i,
			      check_q(buf), c.err, uidsets[i].want);
	}
	/* too small a buffer: -ENOSPC, and never a byte past it */
	wire_cmd_init(&c, small, sizeof(small));
	wire_cmd_syntax(&c, "UID STORE ");
	CHECK(c.err == -ENOSPC, "small buffer: err %d", c.err);
	wire_cmd_init(&c, small, sizeof(small));
	wire_cmd_syntax(&c, "12345678");
	CHECK(c.err == -ENOSPC, "exactly full (no room for the NUL): err %d", c.err);
	wire_cmd_init(&c, small, sizeof(small));
	wire_cmd_syntax(&c, "1234567");
	CHECK(c.err == 0 && check_streq(small, "1234567"), "fits: %s", check_q(small));
	wire_cmd_init(&c, small, 0);
	CHECK(c.err == -ENOSPC, "no buffer");
}

int main(void)
{
	size_t i, n;
	char out[64];

	for (i = 0; i < sizeof(astrings) / sizeof(astrings[0]); i++) {
		int got = wire_astring(astrings[i].s);
		char *sent = libetpan_create(astrings[i].s, &n);

		CHECK(got == astrings[i].want, "wire_astring(%s) = %d, want %d", check_q(astrings[i].s),
		      got, astrings[i].want);
		CHECK(sent != NULL, "memstream");
		if (sent == NULL)
			continue;
		/* what the gate lets through, libetpan sends as one clean line
		 * the framing check accepts; what it refuses, the framing check
		 * would have stopped too */
		if (got == 0) {
			CHECK(strcspn(sent, "\r\n") == n - 2, "CREATE %s: CR/LF inside: %s",
			      check_q(astrings[i].s), check_q(sent));
			CHECK(scan_all(sent, n, false) == 0, "framing refused %s", check_q(sent));
		} else {
			CHECK(scan_all(sent, n, false) == -EPROTO, "framing let through %s", check_q(sent));
		}
		free(sent);
	}
	CHECK(wire_astring(NULL) == -EINVAL, "NULL astring");

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		int got = wire_flag(flags[i].s, strlen(flags[i].s));

		CHECK(got == flags[i].want, "wire_flag(%s) = %d, want %d", check_q(flags[i].s), got,
		      flags[i].want);
	}
	CHECK(wire_flag_list(NULL) == 0, "NULL list");
	CHECK(wire_flag_list("") == 0, "empty list");
	CHECK(wire_flag_list("$A  \\Foo NonJunk") == 0, "good list");
	CHECK(wire_flag_list("$A \\Foo\r\nZ9") == -EINVAL, "list with CR LF");
	CHECK(wire_flag_list("$A (x") == -EINVAL, "list with paren");

	CHECK(wire_sasl_value("me@example.com") == 0, "sasl user");
	CHECK(wire_sasl_value("ya29.a0AfH6SMB-_x/y+z=") == 0, "sasl token");
	CHECK(wire_sasl_value("me\001auth=Bearer x") == -EINVAL, "sasl field separator");
	CHECK(wire_sasl_value("me\r\n") == -EINVAL, "sasl CR LF");
	CHECK(wire_sasl_value(NULL) == -EINVAL, "sasl NULL");

	for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		size_t len = streams[i].len ? streams[i].len : strlen(streams[i].bytes);
		int whole = scan_all(streams[i].bytes, len, false);
		int bytewise = scan_all(streams[i].bytes, len, true);

		CHECK(whole == streams[i].want, "%s: whole %d, want %d", streams[i].what, whole,
		      streams[i].want);
		CHECK(bytewise == streams[i].want, "%s: byte by byte %d, want %d", streams[i].what,
		      bytewise, streams[i].want);
	}

	/* log lines: control bytes escaped, cut never inside an escape */
	log_escape("a\r\nb\tc\x01\x7f", out, sizeof(out));
	CHECK(check_streq(out, "a\\r\\nb\\tc\\x01\\x7f"), "escaped %s", check_q(out));
	log_escape("Z9 DELETE\r\nimapfs: forged", out, sizeof(out));
	CHECK(strchr(out, '\n') == NULL && strchr(out, '\r') == NULL, "forged line %s", check_q(out));
	n = log_escape("abc\r", out, 5);
	CHECK(n == 3 && check_streq(out, "abc"), "cut before an escape: %s", check_q(out));
	log_escape("caf\xc3\xa9", out, sizeof(out));
	CHECK(check_streq(out, "caf\xc3\xa9"), "UTF-8 kept: %s", check_q(out));
	/* a C1 control in UTF-8 (CSI, U+009B) is escaped; U+00A0.. is text */
	log_escape("a\xc2\x9b" "2Jb\xc2\xa0", out, sizeof(out));
	CHECK(check_streq(out, "a\\xc2\\x9b2Jb\xc2\xa0"), "C1 escaped: %s", check_q(out));
	n = log_escape("ab\xc2\x9b", out, 5);
	CHECK(n == 2 && check_streq(out, "ab"), "cut before a C1 escape: %s", check_q(out));

	wire_cmd_tests();
	return check_finish("test_wire");
}
