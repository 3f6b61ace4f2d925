/*
 * mime_decode — transfer encodings, charsets and attachment names (see
 * mime_decode.h for what each function takes and why nothing fails on
 * broken mail).
 */
#include "mime_decode.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- growing output ------------------------------------------------------ */

struct buf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *g;

		while (b->n + n + 1 > cap)
			cap *= 2;
		g = realloc(b->p, cap);
		if (g == NULL) {
			b->oom = true;
			return;
		}
		b->p = g;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void put_cp(struct buf *b, uint32_t cp)
{
	char u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		put(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		put(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		put(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		put(b, u, 4);
	}
}

/* 0, or -ENOMEM with B freed; on success *OUT takes B's bytes. */
static int take(struct buf *b, char **out, size_t *outlen)
{
	if (!b->oom && b->p == NULL)
		put(b, "", 0);
	if (b->oom) {
		free(b->p);
		*out = NULL;
		return -ENOMEM;
	}
	*out = b->p;
	if (outlen != NULL)
		*outlen = b->n;
	return 0;
}

/* ---- transfer encodings ------------------------------------------------- */

/* The value of base64 character C, -1 for '=', -2 for anything else. */
static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return c == '=' ? -1 : -2;
}

size_t mime_base64_step(struct mime_b64 *st, const char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len && !st->done; i++) {
		int v = b64val((unsigned char)in[i]);

		if (v == -1) {
			st->done = true;
			break;
		}
		if (v < 0)
			continue;	/* line breaks, and garbage */
		st->acc = (st->acc << 6 | (uint32_t)v) & 0xffffff;
		st->bits += 6;
		if (st->bits >= 8) {
			st->bits -= 8;
			out[o++] = (char)(st->acc >> st->bits & 0xff);
		}
	}
	return o;
}

size_t mime_base64_decode(const char *in, size_t len, char *out)
{
	struct mime_b64 st = { 0 };

	return mime_base64_step(&st, in, len, out);
}

static bool b64_line(const char *p, size_t n, bool last, size_t *pads)
{
	size_t i;

	*pads = 0;
	for (i = 0; i < n && b64val((unsigned char)p[i]) >= 0; i++)
		;
	if (last)
		while (i < n && p[i] == '=' && *pads < 2) {
			i++;
			(*pads)++;
		}
	return n > 0 && i == n;
}

int mime_base64_size(const char *head, size_t hlen, const char *tail, size_t tlen, uint64_t total,
		     uint64_t *out)
{
	const char *nl, *end;
	size_t eol, L, r, tw = 0, pads, p;
	uint64_t rest, chars;

	if (hlen >= total) {
		/* all of it: count what decoding gives */
		struct mime_b64 st = { 0 };
		char buf[3 * 256];
		uint64_t n = 0;

		for (size_t at = 0; at < hlen; at += 1024)
			n += mime_base64_step(&st, head + at, hlen - at < 1024 ? hlen - at : 1024, buf);
		*out = n;
		return 1;
	}
	/* the first line: L characters and its line end */
	nl = memchr(head, '\n', hlen);
	if (nl == NULL)
		return 0;
	eol = nl > head && nl[-1] == '\r' ? 2 : 1;
	L = (size_t)(nl - head) + 1 - eol;
	if (L == 0 || !b64_line(head, L, false, &pads))
		return 0;
	/* the last line, after the blanks and line ends that close it */
	end = tail + tlen;
	while (end > tail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) {
		end--;
		tw++;
	}
	for (p = (size_t)(end - tail); p > 0 && tail[p - 1] != '\n'; p--)
		;
	if (p == 0)
		return 0;	/* the last line is longer than the tail seen */
	r = (size_t)(end - tail) - p;
	if (r > L || !b64_line(tail + p, r, true, &pads))
		return 0;
	/* the line before it ends the same way and, seen whole, is L long */
	if (eol == 2 && (p < 2 || tail[p - 2] != '\r'))
		return 0;
	if (p > eol) {
		size_t q = p - eol;	/* where the line before ends */

		while (q > 0 && tail[q - 1] != '\n')
			q--;
		if (q > 0 && (p - eol - q != L || !b64_line(tail + q, L, false, &pads)))
			return 0;
	}
	b64_line(tail + p, r, true, &pads);
	if (total < tw + r)
		return 0;
	rest = total - tw - r;
	if (rest % (L + eol) != 0)
		return 0;
	chars = rest / (L + eol) * L + r - pads;
	*out = chars * 6 / 8;
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t mime_qp_decode(const char *in, size_t len, char *out, bool q)
{
	size_t i = 0, o = 0, j;

	while (i < len) {
		char c = in[i];

		if (c == '=' && i + 2 < len && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
			out[o++] = (char)(hexval(in[i + 1]) << 4 | hexval(in[i + 2]));
			i += 3;
			continue;
		}
		if (c == '=') {
			/* a soft line break, perhaps with blanks a gateway added */
			for (j = i + 1; j < len && (in[j] == ' ' || in[j] == '\t'); j++)
				;
			if (j == len) {
				i = j;
				continue;
			}
			if (in[j] == '\n' || (in[j] == '\r' && j + 1 < len && in[j + 1] == '\n')) {
				i = j + (in[j] == '\r' ? 2 : 1);
				continue;
			}
		}
		out[o++] = q && c == '_' ? ' ' : c;
		i++;
	}
	return o;
}

/* ---- charsets ----------------------------------------------------------- */

/* Windows-1252's 0x80-0x9f (0: not assigned) */
static const uint16_t cp1252[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

/* The length of the valid UTF-8 sequence at S (N bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* UTF-8 where the bytes are, Windows-1252 for each byte that is not. */
static void put_lenient(struct buf *b, const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, k;

	while (i < len) {
		k = utf8_len(s + i, len - i);
		if (k > 0) {
			put(b, in + i, k);
			i += k;
		} else {
			unsigned char c = s[i++];

			put_cp(b, c >= 0x80 && c < 0xa0 ? (cp1252[c - 0x80] ? cp1252[c - 0x80] : 0xfffd) : c);
		}
	}
}

static bool is_utf8_name(const char *cs)
{
	return cs == NULL || *cs == '\0' || strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
	       strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0;
}

int mime_to_utf8(const char *charset, const char *in, size_t len, char **out, size_t *outlen)
{
	struct buf b = { 0 };
	iconv_t cd = (iconv_t)-1;
	char chunk[1024];

	if (!is_utf8_name(charset))
		cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1) {
		put_lenient(&b, in, len);
		return take(&b, out, outlen);
	}
	{
		char *ip = (char *)in;
		size_t il = len;

		while (il > 0 && !b.oom) {
			char *op = chunk;
			size_t ol = sizeof(chunk);
			size_t r = iconv(cd, &ip, &il, &op, &ol);

			put(&b, chunk, sizeof(chunk) - ol);
			if (r == (size_t)-1 && (errno == EILSEQ || errno == EINVAL)) {
				/* a byte the charset does not have, or a sequence
				 * cut at the end: U+FFFD, and on */
				put_cp(&b, 0xfffd);
				ip++;
				il--;
				iconv(cd, NULL, NULL, NULL, NULL);
			}
		}
		/* the shift state back to the start, where stateful */
		{
			char *op = chunk;
			size_t ol = sizeof(chunk);

			iconv(cd, NULL, NULL, &op, &ol);
			put(&b, chunk, sizeof(chunk) - ol);
		}
	}
	iconv_close(cd);
	return take(&b, out, outlen);
}

/* ---- RFC 2047 ----------------------------------------------------------- */

/* An encoded-word at S ("=?cs?B?text?="): its length, and its decoded
 * UTF-8 put into B; 0 (nothing put) when S does not hold one. */
static size_t encoded_word(struct buf *b, const char *s)
{
	const char *cs = s + 2, *q1, *q2, *end;
	char charset[64], *raw, *utf8 = NULL;
	size_t n, rawlen, ulen = 0;
	char enc;

	if (s[0] != '=' || s[1] != '?')
		return 0;
	q1 = strchr(cs, '?');
	if (q1 == NULL || q1 == cs || (size_t)(q1 - cs) >= sizeof(charset) || q1[1] == '\0' || q1[2] != '?')
		return 0;
	enc = q1[1];
	if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q')
		return 0;
	q2 = q1 + 3;
	end = strstr(q2, "?=");
	if (end == NULL)
		return 0;
	for (const char *c = q2; c < end; c++)
		if (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n')
			return 0;	/* no blanks inside a word */
	memcpy(charset, cs, (size_t)(q1 - cs));
	charset[q1 - cs] = '\0';
	if (strchr(charset, '*') != NULL)
		*strchr(charset, '*') = '\0';	/* RFC 2231's language */
	n = (size_t)(end - q2);
	raw = malloc(mime_base64_max(n) + n + 1);
	if (raw == NULL) {
		b->oom = true;
		return (size_t)(end + 2 - s);
	}
	rawlen = enc == 'B' || enc == 'b' ? mime_base64_decode(q2, n, raw) : mime_qp_decode(q2, n, raw, true);
	if (mime_to_utf8(charset, raw, rawlen, &utf8, &ulen) < 0)
		b->oom = true;
	else
		put(b, utf8, ulen);
	free(utf8);
	free(raw);
	return (size_t)(end + 2 - s);
}

int mime_header_decode(const char *in, char **out)
{
	struct buf b = { 0 };
	size_t i = 0, n = strlen(in), lit = 0, k;
	bool after_word = false;

	while (i < n) {
		struct buf w = { 0 };

		if (in[i] == '=' && in[i + 1] == '?' && (k = encoded_word(&w, in + i)) > 0) {
			/* blanks between two encoded-words are not text */
			bool blank = true;

			for (size_t j = lit; j < i; j++)
				if (in[j] != ' ' && in[j] != '\t' && in[j] != '\r' && in[j] != '\n')
					blank = false;
			if (!(after_word && blank))
				put_lenient(&b, in + lit, i - lit);
			if (w.oom)
				b.oom = true;
			else if (w.p != NULL)
				put(&b, w.p, w.n);
			free(w.p);
			i += k;
			lit = i;
			after_word = true;
			continue;
		}
		i++;
	}
	put_lenient(&b, in + lit, n - lit);
	return take(&b, out, NULL);
}

/* ---- RFC 2231 ----------------------------------------------------------- */

/* Does NAME (a parameter's name) stand for WANT, and how: -1 no; 0 the
 * plain WANT; else 1 + its part (WANT* is part 0, extended; WANT*N and
 * WANT*N* part N), *EXT when its value is %-encoded. */
static long param_part(const char *name, const char *want, bool *ext)
{
	size_t wl = strlen(want);
	const char *p = name + wl;
	char *end;
	long part;

	*ext = false;
	if (strncasecmp(name, want, wl) != 0)
		return -1;
	if (*p == '\0')
		return 0;
	if (*p != '*')
		return -1;
	p++;
	if (*p == '\0') {
		*ext = true;
		return 1;
	}
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return -1;
	part = strtol(p, &end, 10);
	if (part < 0 || part > 999)
		return -1;
	if (*end == '*') {
		*ext = true;
		end++;
	}
	return *end == '\0' ? part + 1 : -1;
}

/* %XX-decode S into B. */
static void put_pct(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			char c = (char)(hexval(s[1]) << 4 | hexval(s[2]));

			put(b, &c, 1);
			s += 2;
		} else {
			put(b, s, 1);
		}
	}
}

int mime_param(const char *const *names, const char *const *values, size_t n, const char *want,
	       char **out)
{
	struct buf raw = { 0 };
	char charset[64] = "";
	const char *plain = NULL;
	long part;
	bool ext, any = false;
	size_t i, k;
	int rc;

	*out = NULL;
	for (i = 0; i < n; i++)
		if (names[i] != NULL && values[i] != NULL && param_part(names[i], want, &ext) == 0)
			plain = values[i];
	/* RFC 2231's parts, in order: WANT* alone, or WANT*0, WANT*1 ... */
	for (part = 1; part <= 1000; part++) {
		bool found = false;

		for (i = 0; i < n && !found; i++) {
			const char *v = values[i];

			if (names[i] == NULL || v == NULL || param_part(names[i], want, &ext) != part)
				continue;
			found = true;
			if (ext && !any) {
				/* the first part: charset'language'value */
				const char *q1 = strchr(v, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;

				if (q2 != NULL) {
					k = (size_t)(q1 - v) < sizeof(charset) ? (size_t)(q1 - v) : 0;
					memcpy(charset, v, k);
					charset[k] = '\0';
					v = q2 + 1;
				}
			}
			if (ext)
				put_pct(&raw, v);
			else
				put(&raw, v, strlen(v));
			any = true;
		}
		/* WANT* has no continuation; WANT*0 goes on until one is missing */
		if (!found && part > 1)
			break;
	}
	if (raw.oom) {
		free(raw.p);
		return -ENOMEM;
	}
	if (any) {
		rc = mime_to_utf8(charset, raw.p ? raw.p : "", raw.n, out, NULL);
		free(raw.p);
		return rc < 0 ? rc : 1;
	}
	free(raw.p);
	if (plain == NULL)
		return 0;
	rc = mime_header_decode(plain, out);
	return rc < 0 ? rc : 1;
}

/* ---- safe names --------------------------------------------------------- */

int mime_safe_name(const char *name, size_t max, char **out)
{
	struct buf b = { 0 };
	size_t start = 0, n, ext = 0, cut;
	char *s;

	put_lenient(&b, name, strlen(name));
	if (take(&b, &s, &n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == '\\' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '_';
	while (start < n && (s[start] == '.' || s[start] == ' '))
		start++;
	while (n > start && s[n - 1] == ' ')
		n--;
	memmove(s, s + start, n - start);
	n -= start;
	s[n] = '\0';
	if (n == 0) {
		free(s);
		*out = strdup("part");
		return *out != NULL ? 0 : -ENOMEM;
	}
	if (max < 8)
		max = 8;
	if (n > max) {
		const char *dot = strrchr(s, '.');

		if (dot != NULL && dot != s && strlen(dot) <= 16)
			ext = strlen(dot);
		cut = max - ext;
		/* back to the start of a character */
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
		memmove(s + cut, s + n - ext, ext);
		n = cut + ext;
		s[n] = '\0';
	}
	*out = s;
	return 0;
}
