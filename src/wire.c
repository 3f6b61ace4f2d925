/*
 * wire — checks that keep CR, LF and NUL out of IMAP command text.
 *
 * The string checks run before libetpan formats a command (see wire.h for
 * why refusing is the answer); wire_out_scan follows what is actually
 * sent, so that a string that slipped past them fails the connection
 * instead of becoming a command of its own.
 */
#include "wire.h"

#include <errno.h>
#include <string.h>

int wire_astring(const char *s)
{
	if (s == NULL)
		return -EINVAL;
	return strpbrk(s, "\r\n") == NULL ? 0 : -EINVAL;
}

/* RFC 3501 ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * "
 * \ and resp-specials ]. */
static bool atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

int wire_flag(const char *s, size_t len)
{
	size_t i = 0;

	if (s == NULL)
		return -EINVAL;
	if (len > 0 && s[0] == '\\')
		i = 1;	/* flag-extension = "\" atom */
	if (i == len)
		return -EINVAL;
	for (; i < len; i++)
		if (!atom_char((unsigned char)s[i]))
			return -EINVAL;
	return 0;
}

int wire_flag_list(const char *s)
{
	while (s != NULL && *s != '\0') {
		size_t n = strcspn(s, " ");

		if (n > 0 && wire_flag(s, n) < 0)
			return -EINVAL;
		s += n;
		while (*s == ' ')
			s++;
	}
	return 0;
}

int wire_label_list(const char *s)
{
	if (s == NULL)
		return -EINVAL;
	for (; *s != '\0'; s++)
		if (*s != '\n' && ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e))
			return -EINVAL;
	return 0;
}

int wire_sasl_value(const char *s)
{
	if (s == NULL)
		return -EINVAL;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return -EINVAL;
	return 0;
}

/* ---- command text ---------------------------------------------------------- */

void wire_cmd_init(struct wire_cmd *c, char *buf, size_t cap)
{
	c->buf = buf;
	c->cap = cap;
	c->len = 0;
	c->err = cap == 0 ? -ENOSPC : 0;
	if (cap > 0)
		buf[0] = '\0';
}

/* N bytes at S, already checked; keeps room for the NUL after them. */
static void cmd_put(struct wire_cmd *c, const char *s, size_t n)
{
	if (c->err != 0)
		return;
	if (n >= c->cap - c->len) {
		c->err = -ENOSPC;
		return;
	}
	memcpy(c->buf + c->len, s, n);
	c->len += n;
	c->buf[c->len] = '\0';
}

void wire_cmd_syntax(struct wire_cmd *c, const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '{' || ch == '\\') {
			c->err = c->err ? c->err : -EINVAL;
			return;
		}
	}
	cmd_put(c, s, strlen(s));
}

void wire_cmd_number(struct wire_cmd *c, uint64_t n)
{
	char d[21];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	cmd_put(c, d + i, sizeof(d) - i);
}

void wire_cmd_uidset(struct wire_cmd *c, const uint32_t *uids, size_t n)
{
	size_t i = 0;

	if (n == 0) {
		c->err = c->err ? c->err : -EINVAL;
		return;
	}
	while (i < n) {
		size_t j = i;

		if (uids[i] == 0 || (i > 0 && uids[i] <= uids[i - 1])) {
			c->err = c->err ? c->err : -EINVAL;
			return;
		}
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (i > 0)
			cmd_put(c, ",", 1);
		wire_cmd_number(c, uids[i]);
		if (j > i) {
			cmd_put(c, ":", 1);
			wire_cmd_number(c, uids[j]);
		}
		i = j + 1;
	}
}

void wire_cmd_flag(struct wire_cmd *c, const char *flag, size_t len)
{
	if (wire_flag(flag, len) < 0) {
		c->err = c->err ? c->err : -EINVAL;
		return;
	}
	cmd_put(c, flag, len);
}

void wire_cmd_quoted(struct wire_cmd *c, const char *s)
{
	if (s == NULL || strpbrk(s, "\r\n") != NULL) {
		c->err = c->err ? c->err : -EINVAL;
		return;
	}
	cmd_put(c, "\"", 1);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			cmd_put(c, "\\", 1);
		cmd_put(c, p, 1);
	}
	cmd_put(c, "\"", 1);
}

/* ---- outgoing framing ----------------------------------------------------- */

enum {
	WIRE_OUT_LINE,		/* in a command line, outside quotes */
	WIRE_OUT_CR,		/* after CR: only LF may follow */
	WIRE_OUT_QUOTED,	/* inside "..." */
	WIRE_OUT_QESC,		/* after '\' inside "..." */
	WIRE_OUT_LIT,		/* inside a literal's bytes */
	/* "{N}" / "{N+}" being read, before the CRLF that opens the literal */
	WIRE_OUT_BRACE,		/* after '{', digits */
	WIRE_OUT_BRACE_PLUS,	/* after '+' */
	WIRE_OUT_BRACE_END,	/* after '}' */
	WIRE_OUT_BRACE_CR,	/* after "}\r" */
};

void wire_out_init(struct wire_out *w)
{
	memset(w, 0, sizeof(*w));
	w->state = WIRE_OUT_LINE;
}

/* One byte outside a literal, quotes and CR: where it leads. */
static int line_byte(struct wire_out *w, unsigned char c)
{
	switch (c) {
	case '\0':
	case '\n':
		return -EPROTO;	/* NUL, or a line end without CR */
	case '\r':
		return WIRE_OUT_CR;
	case '"':
		return WIRE_OUT_QUOTED;
	case '{':
		w->lit_num = 0;
		w->lit_plus = false;
		return WIRE_OUT_BRACE;
	default:
		return WIRE_OUT_LINE;
	}
}

int wire_out_scan(struct wire_out *w, const char *buf, size_t n)
{
	size_t i = 0;
	int next;

	while (i < n) {
		unsigned char c = (unsigned char)buf[i];

		switch (w->state) {
		case WIRE_OUT_LIT: {
			/* a literal's bytes go through untouched, in bulk */
			uint64_t take = n - i < w->lit_left ? n - i : w->lit_left;

			w->lit_left -= take;
			i += take;
			if (w->lit_left == 0)
				w->state = WIRE_OUT_LINE;
			continue;
		}
		case WIRE_OUT_QUOTED:
			if (c == '\r' || c == '\n' || c == '\0')
				return -EPROTO;
			next = c == '\\' ? WIRE_OUT_QESC : c == '"' ? WIRE_OUT_LINE : WIRE_OUT_QUOTED;
			break;
		case WIRE_OUT_QESC:
			if (c == '\r' || c == '\n' || c == '\0')
				return -EPROTO;
			next = WIRE_OUT_QUOTED;
			break;
		case WIRE_OUT_CR:
			if (c != '\n')
				return -EPROTO;
			next = WIRE_OUT_LINE;	/* the command line ended */
			break;
		case WIRE_OUT_BRACE:
			if (c >= '0' && c <= '9') {
				w->lit_num = w->lit_num * 10 + (uint64_t)(c - '0');
				if (w->lit_num > WIRE_LITERAL_MAX)
					return -EPROTO;
				next = WIRE_OUT_BRACE;
			} else if (c == '+') {
				w->lit_plus = true;
				next = WIRE_OUT_BRACE_PLUS;
			} else if (c == '}') {
				next = WIRE_OUT_BRACE_END;
			} else {
				next = line_byte(w, c);
			}
			break;
		case WIRE_OUT_BRACE_PLUS:
			next = c == '}' ? WIRE_OUT_BRACE_END : line_byte(w, c);
			break;
		case WIRE_OUT_BRACE_END:
			next = c == '\r' ? WIRE_OUT_BRACE_CR : line_byte(w, c);
			break;
		case WIRE_OUT_BRACE_CR:
			if (c != '\n')
				return -EPROTO;
			w->lit_left = w->lit_num;
			next = w->lit_left > 0 ? WIRE_OUT_LIT : WIRE_OUT_LINE;
			break;
		default:	/* WIRE_OUT_LINE */
			next = line_byte(w, c);
			break;
		}
		if (next < 0)
			return next;
		w->state = next;
		i++;
	}
	return 0;
}
