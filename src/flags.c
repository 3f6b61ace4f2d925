/*
 * flags — the user.imap.flags value grammar (see flags.h). Strict: a
 * keyword or flag extension with characters IMAP does not allow, or
 * \Recent, is refused here with EINVAL instead of being sent to the
 * server. flags_format writes only what flags_parse takes back, so a value
 * read with getxattr can always be written with setxattr.
 */
#include "flags.h"
#include "mailmeta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

static const struct {
	const char *name;
	uint8_t bit;
} flags_sys[] = {
	{ "\\Seen", SESSION_F_SEEN },
	{ "\\Answered", SESSION_F_ANSWERED },
	{ "\\Flagged", SESSION_F_FLAGGED },
	{ "\\Deleted", SESSION_F_DELETED },
	{ "\\Draft", SESSION_F_DRAFT },
};

/* RFC 3501 atom-char, minus ']' (resp-specials) and non-ASCII. */
static bool atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

static int kw_append(char **list, const char *kw, size_t n)
{
	size_t old = *list ? strlen(*list) : 0;
	char *p = realloc(*list, old + n + 2);

	if (p == NULL)
		return -ENOMEM;
	if (old)
		p[old++] = ' ';
	memcpy(p + old, kw, n);
	p[old + n] = '\0';
	*list = p;
	return 0;
}

void flags_change_free(struct flags_change *c)
{
	free(c->add_kw);
	free(c->del_kw);
	c->add_kw = c->del_kw = NULL;
}

int flags_parse(const char *value, size_t len, struct flags_change *out)
{
	size_t i = 0;
	int plain = 0, signed_items = 0, rc = 0;

	memset(out, 0, sizeof(*out));
	/* getfattr/setfattr and editors may leave a trailing newline or NUL */
	while (len > 0 && (value[len - 1] == '\n' || value[len - 1] == '\0'))
		len--;
	while (i < len && rc == 0) {
		char sign = 0;
		size_t start, n, k;

		if (value[i] == ' ' || value[i] == '\t') {
			i++;
			continue;
		}
		if (value[i] == '+' || value[i] == '-')
			sign = value[i++];
		start = i;
		while (i < len && value[i] != ' ' && value[i] != '\t')
			i++;
		n = i - start;
		if (n == 0) {
			rc = -EINVAL;
			break;
		}
		if (sign)
			signed_items++;
		else
			plain++;
		if (value[start] == '\\') {
			uint8_t bit = 0;

			for (k = 0; k < sizeof(flags_sys) / sizeof(flags_sys[0]); k++)
				if (strlen(flags_sys[k].name) == n &&
				    strncasecmp(flags_sys[k].name, value + start, n) == 0)
					bit = flags_sys[k].bit;
			if (bit != 0) {
				if (sign == '-')
					out->del_sys |= bit;
				else
					out->add_sys |= bit;
				continue;
			}
			/* a flag extension ("\Foo") goes as it is, backslash
			 * included; \Recent only the server sets */
			if (n == 1 || (n == 7 && strncasecmp(value + start, "\\Recent", 7) == 0)) {
				rc = -EINVAL;
				break;
			}
		}
		for (k = value[start] == '\\' ? 1 : 0; k < n; k++) {
			if (!atom_char((unsigned char)value[start + k])) {
				rc = -EINVAL;
				break;
			}
		}
		if (rc == 0)
			rc = kw_append(sign == '-' ? &out->del_kw : &out->add_kw, value + start, n);
	}
	if (rc == 0 && plain > 0 && signed_items > 0)
		rc = -EINVAL;
	if (rc < 0) {
		flags_change_free(out);
		return rc;
	}
	out->replace = signed_items == 0;
	return 0;
}

/* Does the space-separated LIST hold the flag of N bytes at F (without
 * regard to case, as IMAP compares flags)? */
static bool kw_has(const char *list, const char *f, size_t n)
{
	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, " ");

		if (len == n && strncasecmp(p, f, n) == 0)
			return true;
		p += len;
		while (*p == ' ')
			p++;
	}
	return false;
}

bool flags_has_keyword(const char *keywords, const char *kw)
{
	return kw_has(keywords, kw, strlen(kw));
}

/* Every flag of the space-separated A is (WANT) or is not (!WANT) in B. */
static bool kw_all(const char *a, const char *b, bool want)
{
	for (const char *p = a; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, " ");

		if (len > 0 && kw_has(b, p, len) != want)
			return false;
		p += len;
		while (*p == ' ')
			p++;
	}
	return true;
}

bool flags_satisfied(const struct flags_change *c, uint8_t sysflags, const char *keywords)
{
	if (c->replace)
		return sysflags == c->add_sys && kw_all(c->add_kw, keywords, true) &&
		       kw_all(keywords, c->add_kw, true);
	return (sysflags & c->add_sys) == c->add_sys && (sysflags & c->del_sys) == 0 &&
	       kw_all(c->add_kw, keywords, true) && kw_all(c->del_kw, keywords, false);
}

/* Whether the N bytes at P are one flag flags_parse takes back as it is. */
static bool flag_token_ok(const char *p, size_t n)
{
	size_t k = p[0] == '\\' ? 1 : 0;

	if (n <= k || (n == 7 && strncasecmp(p, "\\Recent", 7) == 0))
		return false;
	for (; k < n; k++)
		if (!atom_char((unsigned char)p[k]))
			return false;
	return true;
}

int flags_format(uint8_t sysflags, const char *keywords, size_t max, char **out, size_t *len,
		 size_t *dropped)
{
	size_t cap = (keywords ? strlen(keywords) : 0) + 64, n = 0, skipped = 0, k;
	const char *p;
	char *buf;

	if (cap > max + 1)
		cap = max + 1;
	buf = malloc(cap);
	if (buf == NULL)
		return -ENOMEM;
	/* the system flags first, in a fixed order; all of them fit in 64 */
	for (k = 0; k < sizeof(flags_sys) / sizeof(flags_sys[0]); k++) {
		size_t l = strlen(flags_sys[k].name);

		if (!(sysflags & flags_sys[k].bit))
			continue;
		if (n + (n > 0) + l > max) {
			skipped++;
			continue;
		}
		if (n > 0)
			buf[n++] = ' ';
		memcpy(buf + n, flags_sys[k].name, l);
		n += l;
	}
	for (p = keywords; p != NULL && *p != '\0';) {
		size_t l = strcspn(p, " ");

		if (l > 0) {
			/* whole flags only: one that does not fit is left out,
			 * never cut */
			if (!flag_token_ok(p, l) || n + (n > 0) + l > max) {
				skipped++;
			} else {
				if (n > 0)
					buf[n++] = ' ';
				memcpy(buf + n, p, l);
				n += l;
			}
		}
		p += l;
		while (*p == ' ')
			p++;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	if (dropped != NULL)
		*dropped = skipped;
	return 0;
}

int flags_parse_date(const char *value, size_t len, int64_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	char buf[64], mon[4], sign, end;
	int day, year, hour, min, sec, zh, zm, m;
	const char *hit;
	struct tm tm = { 0 };

	while (len > 0 && (value[len - 1] == '\n' || value[len - 1] == '\0'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, value, len);
	buf[len] = '\0';
	if (sscanf(buf, "%2d-%3[A-Za-z]-%4d %2d:%2d:%2d %c%2d%2d%c", &day, mon, &year, &hour, &min, &sec,
		   &sign, &zh, &zm, &end) != 9 || (sign != '+' && sign != '-'))
		return -EINVAL;
	hit = strlen(mon) == 3 ? strstr(months, mon) : NULL;
	if (hit == NULL || (hit - months) % 3 != 0)
		return -EINVAL;
	m = (int)(hit - months) / 3;
	if (day < 1 || day > mdays[m] || year < 1970 || year > 9999 || hour > 23 || min > 59 || sec > 60 ||
	    hour < 0 || min < 0 || sec < 0 || zh < 0 || zh > 23 || zm < 0 || zm > 59)
		return -EINVAL;
	tm.tm_mday = day;
	tm.tm_mon = m;
	tm.tm_year = year - 1900;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm) - (sign == '-' ? -1 : 1) * (int64_t)(zh * 3600 + zm * 60);
	return 0;
}
