/*
 * test_literal — the literal scanner (src/literal.c) that tells a server's
 * literal bytes from its protocol text for the NUL tracking (nulcut.c).
 *
 * Each case is a piece of server stream and which of its bytes are literal
 * ("7T3L2T": 7 bytes of text, 3 of literal, 2 of text), plus the literal
 * bytes still expected when the piece ends. Every case is fed whole, byte
 * by byte, and cut in two at every offset, as reads of any size would cut
 * it (a literal split across reads, CR and LF in different reads): the
 * answer must not depend on the cuts. The odd inputs pin down what the
 * scanner does with text the guard refuses before it gets here.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "literal.h"

#define S(x) x, sizeof(x) - 1

static const struct {
	const char *what;
	const char *in;
	size_t len;
	const char *want;	/* runs: <count>T text, <count>L literal */
	uint64_t left;		/* literal bytes still to come at the end */
} cases[] = {
	{ "nothing", S(""), "", 0 },
	{ "plain line", S("* OK ready\r\n"), "12T", 0 },
	{ "two lines", S("* 1 EXISTS\r\n* 0 RECENT\r\n"), "24T", 0 },
	{ "line without its end", S("* OK rea"), "8T", 0 },
	{ "literal", S("A {3}\r\nabc\r\n"), "7T3L2T", 0 },
	{ "literal+", S("A {3+}\r\nabc\r\n"), "8T3L2T", 0 },
	{ "literal holding CR LF and a literal's header",
	  S("A {9}\r\n{2}\r\nxy\r\n\r\n"), "7T9L2T", 0 },
	{ "two literals in one response",
	  S("* 1 FETCH (A {2}\r\nab B {3}\r\ncde)\r\n"), "18T2L8T3L3T", 0 },
	{ "literal after a literal's line ends",
	  S("* LIST () \"/\" {1}\r\na\r\n* LIST () \"/\" {1}\r\nb\r\n"),
	  "19T1L21T1L2T", 0 },
	{ "literal cut off", S("A {5}\r\nab"), "7T2L", 3 },
	{ "header cut off before LF", S("A {5}\r"), "6T", 0 },
	{ "zero-length literal", S("A {0}\r\n\r\n"), "9T", 0 },
	{ "zero-length literal, then one", S("A {0}\r\n{2}\r\nab\r\n"), "12T2L2T", 0 },
	{ "literal of NUL bytes", S("A {3}\r\n\0\0\0\r\n"), "7T3L2T", 0 },
	{ "NUL bytes in a line", S("* OK a\0b\r\nA {1}\r\n\0\r\n"), "17T1L2T", 0 },
	{ "NUL inside the braces", S("A {\0" "2}\r\nab\r\n"), "12T", 0 },
	{ "bare LF after the brace", S("A {2}\nab\n"), "6T2L1T", 0 },
	{ "LF only right after CR", S("A {2}\r\r\nab\r\n"), "12T", 0 },
	{ "CR not followed by LF", S("A {2}\rab\r\n"), "10T", 0 },
	{ "text after the brace", S("A {2} x\r\nab\r\n"), "13T", 0 },
	{ "letter among the digits", S("A {2x}\r\nab\r\n"), "12T", 0 },
	{ "no opening brace", S("A 2}\r\nab\r\n"), "10T", 0 },
	{ "no closing brace", S("A {2\r\nab\r\n"), "10T", 0 },
	{ "second brace starts over", S("A {{2}\r\nab\r\n"), "8T2L2T", 0 },
	{ "digits then a new brace", S("A {9{2}\r\nab\r\n"), "9T2L2T", 0 },
	/* '+' is skipped wherever it is among the digits */
	{ "plus among the digits", S("A {1+2}\r\nabcdefghijkl\r\n"), "9T12L2T", 0 },
	{ "empty braces: zero length", S("A {}\r\nab\r\n"), "10T", 0 },
	{ "a quote does not hide a brace from it",
	  S("* OK \"{2}\r\nab\r\n"), "11T2L2T", 0 },
	{ "2^32 is not wrapped", S("A {4294967296}\r\nxyz"), "16T3L", UINT64_C(4294967293) },
	{ "2^32 - 1", S("A {4294967295}\r\nx"), "16T1L", UINT64_C(4294967294) },
	/* past 2^32 the count stops growing: large, never wrapped to small */
	{ "11 digits", S("A {42949672960}\r\nx"), "17T1L", UINT64_C(4294967295) },
	{ "20 digits", S("A {99999999999999999999}\r\nxy"), "26T2L", UINT64_C(9999999997) },
	{ "leading zeros", S("A {0003}\r\nabc\r\n"), "10T3L2T", 0 },
};

/* What literal_scan reported, one mask byte per stream byte. */
struct rec {
	const char *base;	/* the whole input: runs must cover it in order */
	char mask[128];
	size_t n;
	unsigned empty, out_of_order;
};

static void rec_feed(void *arg, const char *buf, size_t n, bool lit)
{
	struct rec *r = arg;

	if (n == 0)
		r->empty++;
	if (buf != r->base + r->n)
		r->out_of_order++;
	for (size_t i = 0; i < n && r->n < sizeof(r->mask) - 1; i++)
		r->mask[r->n++] = lit ? 'L' : 'T';
	r->mask[r->n] = '\0';
}

/* "7T3L" to "TTTTTTTLLL"; NULL when malformed. */
static char *expand(const char *runs)
{
	static char out[128];
	size_t o = 0;

	while (*runs != '\0') {
		char *end;
		unsigned long k = strtoul(runs, &end, 10);

		if (end == runs || (*end != 'T' && *end != 'L') || o + k >= sizeof(out))
			return NULL;
		memset(out + o, *end, k);
		o += k;
		runs = end + 1;
	}
	out[o] = '\0';
	return out;
}

/* Feed IN in pieces: cut at CUT1 and CUT2 (0 or past the end: no cut), or
 * byte by byte when BYTEWISE. */
static void run(const char *in, size_t len, size_t cut1, size_t cut2, bool bytewise,
		struct rec *r, struct literal_scan *s)
{
	memset(r, 0, sizeof(*r));
	memset(s, 0, sizeof(*s));
	r->base = in;
	if (bytewise) {
		for (size_t i = 0; i < len; i++)
			literal_scan(s, in + i, 1, rec_feed, r);
		return;
	}
	if (cut1 > len)
		cut1 = len;
	if (cut2 < cut1 || cut2 > len)
		cut2 = len;
	literal_scan(s, in, cut1, rec_feed, r);
	literal_scan(s, in + cut1, cut2 - cut1, rec_feed, r);
	literal_scan(s, in + cut2, len - cut2, rec_feed, r);
}

static void check_run(size_t i, const char *how, const struct rec *r, const struct literal_scan *s,
		      const char *want)
{
	CHECK(check_streq(r->mask, want), "%s (%s): got %s, want %s", cases[i].what, how, r->mask,
	      want);
	CHECK(s->left == cases[i].left, "%s (%s): %llu literal bytes left, want %llu",
	      cases[i].what, how, (unsigned long long)s->left, (unsigned long long)cases[i].left);
	CHECK(r->empty == 0, "%s (%s): %u empty runs", cases[i].what, how, r->empty);
	CHECK(r->out_of_order == 0, "%s (%s): %u runs out of order", cases[i].what, how,
	      r->out_of_order);
}

int main(void)
{
	struct literal_scan s;
	struct rec r;
	char how[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *want = expand(cases[i].want);
		size_t len = cases[i].len;

		/* the table itself: runs that add up to the input */
		CHECK(want != NULL && strlen(want) == len, "%s: runs %s do not cover %zu bytes",
		      cases[i].what, cases[i].want, len);
		if (want == NULL || strlen(want) != len)
			continue;
		run(cases[i].in, len, len, len, false, &r, &s);
		check_run(i, "whole", &r, &s, want);
		run(cases[i].in, len, 0, 0, true, &r, &s);
		check_run(i, "byte by byte", &r, &s, want);
		for (size_t cut = 1; cut < len; cut++) {
			run(cases[i].in, len, cut, len, false, &r, &s);
			snprintf(how, sizeof(how), "cut at %zu", cut);
			check_run(i, how, &r, &s, want);
		}
		/* three reads: the middle one inside a header or a literal */
		for (size_t cut = 1; cut + 1 < len; cut++) {
			run(cases[i].in, len, cut, cut + 1, false, &r, &s);
			snprintf(how, sizeof(how), "one byte read at %zu", cut);
			check_run(i, how, &r, &s, want);
		}
	}

	/* a literal's bulk comes in one run per read, not a byte at a time */
	{
		static const char big[] = "A {10}\r\n0123456789\r\n";

		memset(&r, 0, sizeof(r));
		memset(&s, 0, sizeof(s));
		r.base = big;
		literal_scan(&s, big, 8, rec_feed, &r);
		literal_scan(&s, big + 8, 10, rec_feed, &r);
		CHECK(r.n == 18 && s.left == 0, "big literal: %zu bytes, %llu left", r.n,
		      (unsigned long long)s.left);
	}

	return check_finish("test_literal");
}
