/*
 * test_mime_decode — transfer encodings, charsets, RFC 2047 words, RFC
 * 2231 parameters and safe names (src/mime_decode.c), with the broken
 * forms mail in the wild has. The expected strings of the header and
 * parameter cases are what Python's email package decodes from the same
 * input.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mime_decode.h"

static const struct {
	const char *in, *want;
} b64[] = {
	{ "aGVsbG8gd29ybGQ=", "hello world" },
	{ "aGVs\r\nbG8g\r\nd29y\r\nbGQ=", "hello world" },
	{ "aGVsbG8*gd29ybGQ", "hello world" },	/* garbage skipped, no padding */
	{ "", "" },
	{ "YQ==", "a" },
	{ "YWI=trailing", "ab" },		/* stops at '=' */
};

static const struct {
	const char *in, *want;
	int q;
} qp[] = {
	{ "a=3Db", "a=b", 0 },
	{ "line=\r\ncontinued", "linecontinued", 0 },
	{ "line=\ncontinued", "linecontinued", 0 },
	{ "line= \t\r\nnext", "linenext", 0 },
	{ "=ZZ and =4", "=ZZ and =4", 0 },	/* malformed: kept */
	{ "end=", "end", 0 },
	{ "caf=e9", "caf\xe9", 0 },
	{ "a_b", "a_b", 0 },
	{ "a_b=5F", "a b_", 1 },
};

static const struct {
	const char *in, *want;
} hdr[] = {
	{ "=?UTF-8?B?w7xiZXI=?=", "über" },
	{ "=?ISO-8859-1?Q?Gr=FC=DFe?= aus =?UTF-8?Q?K=C3=B6ln?=", "Grüße aus Köln" },
	{ "=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab" },
	{ "=?utf-8?q?hello_world?=", "hello world" },
	{ "x =?UTF-8?B?w7xiZXIucGRm?= y", "x über.pdf y" },
	{ "=?UTF-8*en?Q?hi?=", "hi" },			/* RFC 2231 language */
	{ "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=" },	/* no such encoding: text */
	{ "=?UTF-8?Q?open", "=?UTF-8?Q?open" },
	{ "=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?=" },	/* a blank inside: not a word */
	{ "=?x-unknown?Q?caf=E9?=", "café" },		/* unknown charset: 1252 */
	{ "caf\xe9", "café" },				/* raw 8-bit */
	{ "plain", "plain" },
	{ "=?windows-1252?Q?=80_5?=", "€ 5" },
};

/* DATA (N bytes) base64-encoded in lines of L characters ending in EOL,
 * the last line ended too when LASTEOL, into OUT; its length. */
static size_t b64_encode(const unsigned char *data, size_t n, size_t L, const char *eol, bool lasteol,
			 char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, col = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < n ? (uint32_t)data[i + 1] << 8 : 0) |
			     (i + 2 < n ? data[i + 2] : 0);
		char q[4] = { al[v >> 18 & 63], al[v >> 12 & 63], i + 1 < n ? al[v >> 6 & 63] : '=',
			      i + 2 < n ? al[v & 63] : '=' };

		for (int k = 0; k < 4; k++) {
			if (col == L) {
				o += (size_t)sprintf(out + o, "%s", eol);
				col = 0;
			}
			out[o++] = q[k];
			col++;
		}
	}
	if (lasteol && o > 0)
		o += (size_t)sprintf(out + o, "%s", eol);
	return o;
}

static void base64_pieces(void)
{
	static unsigned char data[5000];
	static char enc[8000], one[6000], pieces[6000];
	size_t len, n1, n2;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7919 % 251);
	len = b64_encode(data, sizeof(data), 76, "\r\n", true, enc);
	n1 = mime_base64_decode(enc, len, one);
	CHECK(n1 == sizeof(data) && memcmp(one, data, n1) == 0, "base64 of 5000 bytes decodes");
	/* cut anywhere, in pieces of every size from 1 to 9 */
	for (size_t step = 1; step < 10; step++) {
		struct mime_b64 st = { 0 };

		n2 = 0;
		for (size_t at = 0; at < len; at += step)
			n2 += mime_base64_step(&st, enc + at, len - at < step ? len - at : step, pieces + n2);
		CHECK(n2 == n1 && memcmp(pieces, one, n1) == 0, "base64 in pieces of %zu", step);
	}

	/* the size from the two ends, for what encoders write */
	static const struct {
		size_t n, L;
		const char *eol;
		bool lasteol;
	} sz[] = {
		{ 5000, 76, "\r\n", true }, { 5000, 76, "\r\n", false }, { 4999, 76, "\r\n", true },
		{ 4998, 76, "\n", true }, { 4998, 64, "\n", false }, { 57 * 30, 76, "\r\n", true },
		{ 57 * 30, 76, "\r\n", false }, { 100, 76, "\r\n", true }, { 1, 76, "\n", true },
		{ 3000, 72, "\r\n", true }, { 2000, 4, "\r\n", true },
	};
	for (size_t i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
		uint64_t got = 0;
		size_t w = 1024;

		len = b64_encode(data, sz[i].n, sz[i].L, sz[i].eol, sz[i].lasteol, enc);
		/* windows smaller than the whole: the ends; else the whole */
		int r = mime_base64_size(enc, len < w ? len : w, enc + (len < w ? 0 : len - w), len < w ? len : w,
					 len, &got);
		CHECK(r == 1 && got == sz[i].n, "base64 size of %zu bytes in lines of %zu: %d %" PRIu64, sz[i].n,
		      sz[i].L, r, got);
	}
	/* a last line longer than the tail seen, lines of two lengths, and
	 * garbage at the end are not guessed */
	uint64_t got = 0;

	len = b64_encode(data, 3000, 76, "\r\n", true, enc);
	CHECK(mime_base64_size(enc, 100, enc + len - 40, 40, len, &got) == 0, "tail within one line");
	memmove(enc + 300, enc + 302, len - 302);	/* one line break less: a line of 152 */
	CHECK(mime_base64_size(enc, 1024, enc + len - 2 - 1024, 1024, len - 2, &got) == 0 || got != 3000,
	      "irregular lines are no guess of 3000");
	len = b64_encode(data, 3000, 76, "\r\n", true, enc);
	memcpy(enc + len, "--\r\n", 4);
	CHECK(mime_base64_size(enc, 1024, enc + len + 4 - 1024, 1024, len + 4, &got) == 0, "garbage at the end");
}

int main(void)
{
	char out[256], *s;
	size_t i, n;

	for (i = 0; i < sizeof(b64) / sizeof(b64[0]); i++) {
		n = mime_base64_decode(b64[i].in, strlen(b64[i].in), out);
		out[n] = '\0';
		CHECK(strcmp(out, b64[i].want) == 0, "base64 %s -> %s", check_q(b64[i].in), check_q(out));
	}
	base64_pieces();
	for (i = 0; i < sizeof(qp) / sizeof(qp[0]); i++) {
		n = mime_qp_decode(qp[i].in, strlen(qp[i].in), out, qp[i].q);
		out[n] = '\0';
		CHECK(strcmp(out, qp[i].want) == 0, "qp %s -> %s", check_q(qp[i].in), check_q(out));
	}
	for (i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++) {
		CHECK(mime_header_decode(hdr[i].in, &s) == 0 && strcmp(s, hdr[i].want) == 0,
		      "header %s -> %s, want %s", check_q(hdr[i].in), check_q(s), hdr[i].want);
		free(s);
	}

	/* charsets: iconv, and what it cannot do */
	CHECK(mime_to_utf8("windows-1252", "\x80", 1, &s, &n) == 0 && strcmp(s, "€") == 0, "1252");
	free(s);
	CHECK(mime_to_utf8("ISO-8859-15", "\xa4", 1, &s, &n) == 0 && strcmp(s, "€") == 0, "8859-15");
	free(s);
	CHECK(mime_to_utf8("UTF-16LE", "a\0b", 3, &s, &n) == 0 && strcmp(s, "a\xef\xbf\xbd") == 0,
	      "cut UTF-16: %s", check_q(s));
	free(s);
	CHECK(mime_to_utf8("utf-8", "ok\xff", 3, &s, &n) == 0 && strcmp(s, "okÿ") == 0, "bad utf-8");
	free(s);
	CHECK(mime_to_utf8("no-such-charset", "x\xe9", 2, &s, &n) == 0 && strcmp(s, "xé") == 0, "unknown");
	free(s);
	CHECK(mime_to_utf8("us-ascii", "a\0b", 3, &s, &n) == 0 && n == 3 && s[1] == '\0', "NUL kept");
	free(s);
	CHECK(mime_to_utf8("iso-8859-1", "Gr\xfc\xdf" "e", 5, &s, &n) == 0 && strcmp(s, "Grüße") == 0,
	      "latin1");
	free(s);

	/* RFC 2231 parameters (and RFC 2047 where it does not belong) */
	{
		const char *nm[] = { "name", "filename*" }, *vl[] = { "x.pdf", "UTF-8''%E2%82%AC%20rates.pdf" };

		CHECK(mime_param(nm, vl, 2, "filename", &s) == 1 && strcmp(s, "€ rates.pdf") == 0, "2231");
		free(s);
		CHECK(mime_param(nm, vl, 2, "name", &s) == 1 && strcmp(s, "x.pdf") == 0, "plain");
		free(s);
		CHECK(mime_param(nm, vl, 2, "charset", &s) == 0 && s == NULL, "absent");
	}
	{
		const char *nm[] = { "FILENAME*1", "filename*0*" }, *vl[] = { "sse.txt", "utf-8'en'Gr%C3%BC" };

		CHECK(mime_param(nm, vl, 2, "filename", &s) == 1 && strcmp(s, "Grüsse.txt") == 0,
		      "continuations out of order: %s", check_q(s));
		free(s);
	}
	{
		const char *nm[] = { "filename*0", "filename*1", "filename" },
			   *vl[] = { "long", "name.txt", "fallback.txt" };

		CHECK(mime_param(nm, vl, 3, "filename", &s) == 1 && strcmp(s, "longname.txt") == 0, "cont");
		free(s);
	}
	{
		const char *nm[] = { "filename" }, *vl[] = { "=?UTF-8?B?w7xiZXIucGRm?=" };

		CHECK(mime_param(nm, vl, 1, "filename", &s) == 1 && strcmp(s, "über.pdf") == 0, "2047 in");
		free(s);
	}
	{
		const char *nm[] = { "filename*" }, *vl[] = { "iso-8859-1''caf%E9.txt" };

		CHECK(mime_param(nm, vl, 1, "filename", &s) == 1 && strcmp(s, "café.txt") == 0, "latin1 2231");
		free(s);
	}
	{
		const char *nm[] = { "filename*" }, *vl[] = { "no quotes %41" };

		CHECK(mime_param(nm, vl, 1, "filename", &s) == 1 && strcmp(s, "no quotes A") == 0, "no charset");
		free(s);
	}

	/* safe names */
	{
		static const struct {
			const char *in, *want;
			size_t max;
		} sn[] = {
			{ "report.pdf", "report.pdf", 255 },
			{ "../etc/passwd", "_etc_passwd", 255 },
			{ ".hidden", "hidden", 255 },
			{ "a\x01" "b\\c", "a_b_c", 255 },
			{ "", "part", 255 },
			{ "...", "part", 255 },
			{ "  name  ", "name", 255 },
			{ "abcdefghijklmnop.pdf", "abcdefgh.pdf", 12 },
			{ "ééééé.txt", "ééé.txt", 10 },	/* 10 bytes */
			{ "ééééé.txt", "éé.txt", 9 },		/* cut at a character */
			{ "caf\xe9", "café", 255 },
			{ "abcdefghijklmnopqrstuvwxyz", "abcdefghij", 10 },
		};

		for (i = 0; i < sizeof(sn) / sizeof(sn[0]); i++) {
			CHECK(mime_safe_name(sn[i].in, sn[i].max, &s) == 0 && strcmp(s, sn[i].want) == 0,
			      "safe %s -> %s, want %s", check_q(sn[i].in), check_q(s), sn[i].want);
			free(s);
		}
	}
	return check_finish("test_mime_decode");
}
