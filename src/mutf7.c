/*
 * mutf7 — modified UTF-7 (RFC 3501 section 5.1.3) to and from UTF-8.
 *
 * The decoder is strict: it accepts only the one canonical encoding of each
 * name, the one mutf7_encode produces. That is what lets names.c promise
 * names_from_fs(names_to_fs(x)) == x: if two server spellings decoded to the
 * same UTF-8, one of them would come back from a rename or mkdir as the
 * other and name a different mailbox. Canonical means: printable ASCII
 * (0x20..0x7e) other than '&' is written directly, '&' only as "&-", every
 * other character inside one "&...-" base64 run per maximal stretch (so two
 * runs never touch), using the fewest base64 characters with zero padding
 * bits. Anything else is -EILSEQ and names.c shows it as raw bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"

/* RFC 3501: the base64 alphabet of RFC 2045 with ',' in place of '/'. */
static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* Characters that modified UTF-7 writes as themselves ('&' is special). */
static int is_direct(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

static char *put_utf8(char *p, uint32_t cp)
{
	if (cp < 0x80) {
		*p++ = (char)cp;
	} else if (cp < 0x800) {
		*p++ = (char)(0xc0 | (cp >> 6));
		*p++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*p++ = (char)(0xe0 | (cp >> 12));
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*p++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*p++ = (char)(0xf0 | (cp >> 18));
		*p++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*p++ = (char)(0x80 | (cp & 0x3f));
	}
	return p;
}

/*
 * Decode one base64 run starting just after its '&' at *PP; on success *PP
 * points past the closing '-' and *OP past the UTF-8 written.
 */
static int decode_run(const char **pp, char **op)
{
	const char *p = *pp;
	char *o = *op;
	uint32_t bits = 0;	/* pending bits, low NBITS of them meaningful */
	int nbits = 0;
	uint32_t high = 0;	/* a high surrogate waiting for its low half */
	int units = 0;

	for (; *p != '-'; p++) {
		int v;
		uint32_t u;

		if (*p == '\0')
			return -EILSEQ;		/* unterminated run */
		v = b64_value((unsigned char)*p);
		if (v < 0)
			return -EILSEQ;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		u = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		units++;

		if (high) {
			if (u < 0xdc00 || u > 0xdfff)
				return -EILSEQ;	/* high surrogate not followed by low */
			o = put_utf8(o, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
			high = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			high = u;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			return -EILSEQ;		/* low surrogate first */
		} else if (u == 0 || is_direct(u)) {
			/* NUL cannot be in a C string; printable ASCII
			 * (and '&') has a shorter, direct spelling. */
			return -EILSEQ;
		} else {
			o = put_utf8(o, u);
		}
	}
	/* "&-" is handled by the caller, so an empty run never gets here;
	 * still, a run must carry at least one unit. Leftover bits are the
	 * padding of the last character: fewer than 6 and all zero, or the
	 * encoder would not have written that character. */
	if (units == 0 || high || nbits >= 6 || bits != 0)
		return -EILSEQ;
	*pp = p + 1;
	*op = o;
	return 0;
}

int mutf7_decode(const char *in, char **out)
{
	/* Direct characters map 1:1 and "&-" shrinks, but a long run of BMP
	 * characters grows: 3 UTF-8 bytes per 16 bits, i.e. 9 bytes per 8
	 * base64 characters. Twice the input is comfortably enough. */
	size_t len = strlen(in);
	char *buf, *o;
	const char *p = in;
	int after_run = 0;	/* the previous token was a base64 run */
	int rc;

	if (len > (SIZE_MAX - 1) / 2)
		return -ENOMEM;
	buf = malloc(len * 2 + 1);
	if (!buf)
		return -ENOMEM;
	o = buf;
	while (*p) {
		unsigned char c = (unsigned char)*p;

		if (!is_direct(c)) {
			rc = -EILSEQ;
			goto free_buf;
		}
		if (c != '&') {
			*o++ = (char)c;
			p++;
			after_run = 0;
			continue;
		}
		if (p[1] == '-') {
			*o++ = '&';
			p += 2;
			after_run = 0;
			continue;
		}
		/* Two runs back to back are one run spelled the long way. */
		if (after_run) {
			rc = -EILSEQ;
			goto free_buf;
		}
		p++;
		rc = decode_run(&p, &o);
		if (rc < 0)
			goto free_buf;
		after_run = 1;
	}
	*o = '\0';
	*out = buf;
	return 0;

free_buf:
	free(buf);
	return rc;
}

/*
 * Read one UTF-8 sequence at *PP into *CP, advancing *PP. Refuses what
 * RFC 3629 refuses: stray continuation bytes, overlong forms, surrogates,
 * code points above U+10FFFF and sequences cut short.
 */
int mutf7_utf8_get(const unsigned char **pp, uint32_t *cp)
{
	const unsigned char *p = *pp;
	uint32_t c = p[0], min;
	int n, i;

	if (c < 0x80) {
		*cp = c;
		*pp = p + 1;
		return 0;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		min = 0x80;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		min = 0x800;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		min = 0x10000;
		c &= 0x07;
	} else {
		return -EILSEQ;		/* continuation byte, 0xc0/0xc1, 0xf5.. */
	}
	for (i = 1; i <= n; i++) {
		/* The NUL terminator fails this test, so we never read past it. */
		if ((p[i] & 0xc0) != 0x80)
			return -EILSEQ;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -EILSEQ;
	*cp = c;
	*pp = p + n + 1;
	return 0;
}

/* Flush whole base64 characters from the bit accumulator. */
static char *put_b64(char *o, uint32_t *bits, int *nbits)
{
	while (*nbits >= 6) {
		*nbits -= 6;
		*o++ = b64_chars[(*bits >> *nbits) & 0x3f];
	}
	*bits &= (1u << *nbits) - 1;
	return o;
}

static char *put_unit(char *o, uint32_t u, uint32_t *bits, int *nbits)
{
	*bits = (*bits << 16) | u;
	*nbits += 16;
	return put_b64(o, bits, nbits);
}

int mutf7_encode(const char *in, char **out)
{
	/* Worst case per input byte: a lone control character between direct
	 * ones becomes "&AAE-", 5 bytes. Every other case is shorter. */
	size_t len = strlen(in);
	const unsigned char *p = (const unsigned char *)in;
	char *buf, *o;
	int in_run = 0;
	uint32_t bits = 0;
	int nbits = 0;
	int rc;

	if (len > (SIZE_MAX - 1) / 5)
		return -ENOMEM;
	buf = malloc(len * 5 + 1);
	if (!buf)
		return -ENOMEM;
	o = buf;
	while (*p) {
		uint32_t cp;

		rc = mutf7_utf8_get(&p, &cp);
		if (rc < 0)
			goto free_buf;
		if (is_direct(cp)) {
			if (in_run) {
				/* Pad the last character with zero bits. */
				if (nbits > 0)
					*o++ = b64_chars[(bits << (6 - nbits)) & 0x3f];
				bits = 0;
				nbits = 0;
				*o++ = '-';
				in_run = 0;
			}
			*o++ = (char)cp;
			if (cp == '&')
				*o++ = '-';
			continue;
		}
		if (!in_run) {
			*o++ = '&';
			in_run = 1;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			o = put_unit(o, 0xd800 | (cp >> 10), &bits, &nbits);
			o = put_unit(o, 0xdc00 | (cp & 0x3ff), &bits, &nbits);
		} else {
			o = put_unit(o, cp, &bits, &nbits);
		}
	}
	if (in_run) {
		if (nbits > 0)
			*o++ = b64_chars[(bits << (6 - nbits)) & 0x3f];
		*o++ = '-';
	}
	*o = '\0';
	*out = buf;
	return 0;

free_buf:
	free(buf);
	return rc;
}
