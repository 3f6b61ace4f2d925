/*
 * test_mutf7 — modified UTF-7 both ways: the RFC 3501 examples, boundary
 * code points, every kind of malformed input the strict decoder promises
 * to refuse, invalid UTF-8 for the encoder, and exhaustive small searches
 * that prove the decoder accepts only canonical spellings (the property
 * names.c relies on for names_from_fs(names_to_fs(x)) == x).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mutf7.h"

/* Pairs that must map to each other in both directions. */
static const struct {
	const char *mutf7;
	const char *utf8;
} pairs[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ " ~!\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}", " ~!\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}" },
	{ "-", "-" },
	{ "&-", "&" },
	{ "&-&-", "&&" },
	{ "&--", "&-" },
	{ "a&-b", "a&b" },
	/* RFC 3501 section 5.1.3 */
	{ "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
	{ "&U,BTFw-", "\xe5\x8f\xb0\xe5\x8c\x97" },
	{ "Entw&APw-rfe", "Entw\xc3\xbcrfe" },
	{ "&AOk-", "\xc3\xa9" },
	{ "&Jjo-", "\xe2\x98\xba" },				/* U+263A */
	{ "&JjomOg-", "\xe2\x98\xba\xe2\x98\xba" },		/* one run, not two */
	{ "&Jjo-&-&Jjo-", "\xe2\x98\xba&\xe2\x98\xba" },	/* runs split by '&' */
	{ "&Jjo--", "\xe2\x98\xba-" },
	{ "&Jjo-!", "\xe2\x98\xba!" },
	/* controls are not direct characters: they go in base64 */
	{ "&AAE-", "\x01" },
	{ "&AH8-", "\x7f" },
	{ "a&AAkACg-b", "a\t\nb" },
	/* 1-, 2-, 3- and 4-byte UTF-8 boundaries */
	{ "&AIA-", "\xc2\x80" },			/* U+0080 */
	{ "&B,8-", "\xdf\xbf" },			/* U+07FF */
	{ "&CAA-", "\xe0\xa0\x80" },			/* U+0800 */
	{ "&1,8-", "\xed\x9f\xbf" },			/* U+D7FF, below surrogates */
	{ "&4AA-", "\xee\x80\x80" },			/* U+E000, above surrogates */
	{ "&,,8-", "\xef\xbf\xbf" },			/* U+FFFF */
	/* beyond the BMP: surrogate pairs */
	{ "&2ADcAA-", "\xf0\x90\x80\x80" },		/* U+10000 */
	{ "&2D3eAA-", "\xf0\x9f\x98\x80" },		/* U+1F600 */
	{ "&2,,f,w-", "\xf4\x8f\xbf\xbf" },		/* U+10FFFF */
	{ "&2D3eANg93gE-", "\xf0\x9f\x98\x80\xf0\x9f\x98\x81" },
	{ "x&2D3eAAAB-y", "x\xf0\x9f\x98\x80\x01y" },	/* pair then BMP */
};

/* Not valid modified UTF-7: each must give -EILSEQ. */
static const char *const bad_mutf7[] = {
	/* unterminated runs */
	"&", "a&", "&Jjo", "&Jj", "x&U,BTFw",
	/* bad base64 characters: '/' and '=' are standard base64 only */
	"&Jj!-", "&Jj/-", "&Jj=-", "&Jjo=-", "&J jo-", "&Jj\x01o-",
	"&U/BTFw-", "&2//f/w-", "&AOk=-", "&AOk==-",
	/* a run too short to hold a unit, or with a spare character */
	"&J-", "&Jj-", "&JjoA-", "&JjomO-", "&JjomOgA-",
	/* non-zero padding bits */
	"&Jjp-", "&Jjr-", "&AOl-", "&2D3eAB-", "&JjomOh-",
	/* printable ASCII (and '&', and '/') encoded instead of direct */
	"&AGE-", "&ACY-", "&ACA-", "&AH4-", "&AC8-", "&AGEAYg-", "&JjoAYQ-",
	/* encoded NUL */
	"&AAA-", "a&AAA-b", "&JjoAAA-",
	/* surrogates alone or out of order */
	"&2D0-", "&3gA-", "&3gDYPQ-", "&2D0mOg-", "&2D3YPQ-", "&JjrYPQ-",
	/* a pair split over two runs, and plain back-to-back runs */
	"&2D0-&3gA-", "&Jjo-&Jjo-", "&AOk-&AOk-",
	/* bytes outside 0x20..0x7e */
	"caf\xc3\xa9", "\xff", "\x80", "a\tb", "\x01", "\x7f", "\x1b[31m", "a\nb",
};

/* Not valid UTF-8: the encoder must give -EILSEQ. */
static const char *const bad_utf8[] = {
	"\x80", "a\x80", "\xbf",		/* stray continuation bytes */
	"\xc0\xaf", "\xc1\xbf",			/* overlong 2-byte */
	"\xe0\x80\xaf", "\xe0\x9f\xbf",		/* overlong 3-byte */
	"\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",	/* overlong 4-byte */
	"\xed\xa0\x80", "\xed\xbf\xbf",		/* UTF-16 surrogates */
	"\xed\xa0\xbd\xed\xb8\x80",		/* CESU-8 style pair */
	"\xf4\x90\x80\x80", "\xf5\x80\x80\x80",	/* above U+10FFFF */
	"\xf8\x88\x80\x80\x80", "\xfe", "\xff",
	"\xc3", "\xe6\x97", "\xf0\x9f\x98",	/* truncated at the end */
	"a\xe6\x97z", "\xc3 ", "\xf0\x9f\x98\x41",	/* cut short by another byte */
	"ok\xe6\x97\xa5\xe6",
};

/* A sentinel so a failing call can be seen to leave *OUT alone. */
static char sentinel_byte;
#define SENTINEL (&sentinel_byte)

static void test_pairs(void)
{
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char *out = SENTINEL;
		int rc;

		rc = mutf7_decode(pairs[i].mutf7, &out);
		CHECK(rc == 0 && check_streq(out, pairs[i].utf8),
		      "decode %s: rc %d, got %s, want %s", check_q(pairs[i].mutf7),
		      rc, rc == 0 ? check_q(out) : "-", check_q(pairs[i].utf8));
		if (rc == 0)
			free(out);

		out = SENTINEL;
		rc = mutf7_encode(pairs[i].utf8, &out);
		CHECK(rc == 0 && check_streq(out, pairs[i].mutf7),
		      "encode %s: rc %d, got %s, want %s", check_q(pairs[i].utf8),
		      rc, rc == 0 ? check_q(out) : "-", check_q(pairs[i].mutf7));
		if (rc == 0)
			free(out);
	}
}

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad_mutf7) / sizeof(bad_mutf7[0]); i++) {
		char *out = SENTINEL;
		int rc = mutf7_decode(bad_mutf7[i], &out);

		CHECK(rc == -EILSEQ && out == SENTINEL, "decode %s: rc %d, want -EILSEQ%s",
		      check_q(bad_mutf7[i]), rc, out == SENTINEL ? "" : ", *out changed");
		if (rc == 0)
			free(out);
	}
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		char *out = SENTINEL;
		int rc = mutf7_encode(bad_utf8[i], &out);

		CHECK(rc == -EILSEQ && out == SENTINEL, "encode %s: rc %d, want -EILSEQ%s",
		      check_q(bad_utf8[i]), rc, out == SENTINEL ? "" : ", *out changed");
		if (rc == 0)
			free(out);
	}
}

static size_t put_utf8(char *p, unsigned cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xc0 | cp >> 6);
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xe0 | cp >> 12);
		p[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | cp >> 18);
	p[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	p[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* encode then decode gives back S; the encoding is plain 0x20..0x7e. */
static int round_trips(const char *s)
{
	char *m = NULL, *back = NULL;
	int ok;

	ok = mutf7_encode(s, &m) == 0 && mutf7_decode(m, &back) == 0 &&
	     strcmp(back, s) == 0;
	for (const char *p = m; ok && *p; p++)
		ok = *p >= 0x20 && *p <= 0x7e;
	free(m);
	free(back);
	return ok;
}

/* Every Unicode scalar value, alone and between direct characters. */
static void test_all_code_points(void)
{
	unsigned bad = 0, first_bad = 0;
	char buf[16];

	for (unsigned cp = 1; cp <= 0x10ffff; cp++) {
		size_t n;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = put_utf8(buf, cp);
		buf[n] = '\0';
		if (!round_trips(buf) && !bad++)
			first_bad = cp;
		if ((cp & 0xff) != 0x41)	/* a sample is enough for the next */
			continue;
		buf[0] = 'a';
		n = put_utf8(buf + 1, cp) + 1;
		buf[n++] = 'b';
		buf[n] = '\0';
		if (!round_trips(buf) && !bad++)
			first_bad = cp;
	}
	CHECK(bad == 0, "%u code points do not round trip, first U+%04X", bad, first_bad);
}

/*
 * Long runs: a run of BMP characters decodes to more bytes than its
 * encoding (9 per 8), which is where an output buffer sized from the input
 * would overflow; ASan runs catch that.
 */
static void test_long(void)
{
	static const char *const units[] = {
		"\xe6\x97\xa5", "\xf0\x9f\x98\x80", "\x01", "a", "&", "\xc3\xa9",
	};

	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		char *s;
		size_t ulen = strlen(units[u]);

		s = malloc(ulen * 1000 + 1);
		if (!s)
			abort();
		for (size_t i = 0; i < 1000; i++)
			memcpy(s + i * ulen, units[u], ulen);
		s[ulen * 1000] = '\0';
		CHECK(round_trips(s), "1000 x %s does not round trip", check_q(units[u]));
		free(s);
	}
}

/*
 * Mixed strings from pieces that stress run boundaries: every sequence of
 * up to 5 pieces must round trip.
 */
static void test_mixed(void)
{
	static const char *const pieces[] = {
		"a", "&", "-", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "\x01",
	};
	enum { NPIECES = sizeof(pieces) / sizeof(pieces[0]), MAXLEN = 5 };
	unsigned idx[MAXLEN], bad = 0, tried = 0;
	char s[MAXLEN * 4 + 1], first[MAXLEN * 4 + 1] = "";

	for (unsigned len = 1; len <= MAXLEN; len++) {
		memset(idx, 0, sizeof(idx));
		for (;;) {
			unsigned k;
			char *o = s;

			for (k = 0; k < len; k++) {
				strcpy(o, pieces[idx[k]]);
				o += strlen(o);
			}
			tried++;
			if (!round_trips(s) && !bad++)
				strcpy(first, s);
			for (k = 0; k < len && ++idx[k] == NPIECES; k++)
				idx[k] = 0;
			if (k == len)
				break;
		}
	}
	CHECK(bad == 0, "%u of %u mixed strings do not round trip, first %s",
	      bad, tried, check_q(first));
}

/*
 * Canonical spellings only: whenever the decoder accepts a string, encoding
 * the result must give that same string back. Searched exhaustively over
 * every run of 1 to 3 base64 characters, and over all short strings from
 * an alphabet of shift characters and base64 digits.
 */
static int canonical(const char *m)
{
	char *u, *again;
	int ok;

	if (mutf7_decode(m, &u) != 0)
		return 1;	/* refused: nothing to check */
	ok = mutf7_encode(u, &again) == 0 && strcmp(again, m) == 0;
	if (ok)
		free(again);
	free(u);
	return ok;
}

static void test_canonical(void)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
	static const char alpha[] = "&-AJjo2D3gE, a";
	unsigned bad = 0, accepted = 0;
	char s[16], first[16] = "";

	for (unsigned n = 1; n <= 3; n++) {
		unsigned total = 1;

		for (unsigned k = 0; k < n; k++)
			total *= 64;
		for (unsigned v = 0; v < total; v++) {
			unsigned x = v;

			s[0] = '&';
			for (unsigned k = 0; k < n; k++, x /= 64)
				s[1 + k] = b64[x % 64];
			s[1 + n] = '-';
			s[2 + n] = '\0';
			if (!canonical(s) && !bad++)
				strcpy(first, s);
		}
	}
	CHECK(bad == 0, "%u base64 runs decode but are not canonical, first %s",
	      bad, check_q(first));

	bad = 0;
	for (unsigned len = 1; len <= 6; len++) {
		unsigned total = 1, na = sizeof(alpha) - 1;

		for (unsigned k = 0; k < len; k++)
			total *= na;
		for (unsigned v = 0; v < total; v++) {
			unsigned x = v;
			char *u;

			for (unsigned k = 0; k < len; k++, x /= na)
				s[k] = alpha[x % na];
			s[len] = '\0';
			if (mutf7_decode(s, &u) == 0) {
				accepted++;
				free(u);
			}
			if (!canonical(s) && !bad++)
				strcpy(first, s);
		}
	}
	CHECK(bad == 0, "%u short strings decode but are not canonical, first %s",
	      bad, check_q(first));
	CHECK(accepted > 1000, "the canonical search accepted only %u strings", accepted);
}

int main(void)
{
	test_pairs();
	test_bad();
	test_all_code_points();
	test_long();
	test_mixed();
	test_canonical();
	return check_finish("test_mutf7");
}
