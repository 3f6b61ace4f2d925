/*
 * flags — the user.imap.flags value grammar (see flags.h). Strict: an
 * unknown \System flag or a keyword with characters IMAP does not allow is
 * refused here with EINVAL instead of being sent to the server.
 */
#include "flags.h"
#include "session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
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
			if (bit == 0) {
				rc = -EINVAL;	/* \Recent or an unknown system flag */
				break;
			}
			if (sign == '-')
				out->del_sys |= bit;
			else
				out->add_sys |= bit;
			continue;
		}
		for (k = 0; k < n; k++) {
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
