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

	return check_finish("test_wire");
}
