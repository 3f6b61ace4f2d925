/*
 * nulcut — see nulcut.h: the string being read is copied (its first
 * NUL_NAME_MAX bytes) as libetpan will see it, so that a NUL can be
 * recorded with the name libetpan makes of it.
 */
#include "nulcut.h"

#include <stdlib.h>
#include <string.h>

static void nul_record(struct nulcut *c, uint64_t off)
{
	struct nulcut_rec *e = &c->cuts[c->ncuts % NUL_CUTS];
	char *name = NULL;

	if ((c->in_lit || c->in_quote) && c->str_cut)
		return;	/* libetpan's copy ends at the string's first NUL */
	if ((c->in_lit || c->in_quote) && c->strlen_ <= NUL_NAME_MAX) {
		size_t n = c->strlen_;

		/* a backslash before the NUL stays one (NUL is not special) */
		name = malloc(n + 2);
		if (name != NULL) {
			memcpy(name, c->str, n);
			if (c->in_quote && c->backslash)
				name[n++] = '\\';
			name[n] = '\0';
		}
	}
	c->str_cut = true;
	if (c->ncuts >= NUL_CUTS) {
		if (e->off + 1 > c->dropped_off)
			c->dropped_off = e->off + 1;
		free(e->name);
	}
	e->off = off;
	e->name = name;
	c->ncuts++;
}

static void str_add(struct nulcut *c, char ch)
{
	if (c->strlen_ < NUL_NAME_MAX)
		c->str[c->strlen_] = ch;
	if (c->strlen_ <= NUL_NAME_MAX)
		c->strlen_++;
}

static void str_start(struct nulcut *c)
{
	c->strlen_ = 0;
	c->str_cut = false;
	c->backslash = false;
}

/* N bytes at BUF handed to libetpan, all inside a literal (LIT) or all
 * outside one. */
static void nul_feed(struct nulcut *c, const char *buf, size_t n, bool lit)
{
	if (lit) {
		const char *z;

		if (!c->in_lit) {
			c->in_lit = true;
			c->in_quote = false;
			str_start(c);
		}
		z = c->str_cut ? NULL : memchr(buf, '\0', n);
		if (z != NULL) {
			for (const char *p = buf; p < z; p++)
				str_add(c, *p);
			nul_record(c, c->rx_off + (uint64_t)(z - buf));
		} else if (!c->str_cut) {
			size_t room = c->strlen_ < NUL_NAME_MAX ? NUL_NAME_MAX - c->strlen_ : 0;

			if (room > 0)
				memcpy(c->str + c->strlen_, buf, n < room ? n : room);
			c->strlen_ += n < room ? n : room;
			if (n > room)
				c->strlen_ = NUL_NAME_MAX + 1;
		}
		c->rx_off += n;
		return;
	}
	c->in_lit = false;
	for (size_t i = 0; i < n; i++, c->rx_off++) {
		char ch = buf[i];

		if (ch == '\0') {
			nul_record(c, c->rx_off);
			if (c->in_quote && c->backslash)
				c->backslash = false;	/* the backslash was consumed with it */
			continue;
		}
		if (ch == '\n') {
			c->in_quote = false;
			continue;
		}
		if (!c->in_quote) {
			if (ch == '"') {
				c->in_quote = true;
				str_start(c);
			}
		} else if (c->backslash) {
			/* an escaped '"' or backslash is that byte; before
			 * anything else the backslash stays, and CH is an
			 * ordinary byte (it is neither special) */
			c->backslash = false;
			if (ch != '"' && ch != '\\')
				str_add(c, '\\');
			str_add(c, ch);
		} else if (ch == '\\') {
			c->backslash = true;
		} else if (ch == '"') {
			c->in_quote = false;
		} else {
			str_add(c, ch);
		}
	}
}

void nulcut_free(struct nulcut *c)
{
	for (size_t i = 0; i < NUL_CUTS; i++)
		free(c->cuts[i].name);
	free(c->view);
}

/* literal_scan's callback: N bytes at BUF handed to libetpan. */
static void nul_scan_feed(void *arg, const char *buf, size_t n, bool lit)
{
	nul_feed(arg, buf, n, lit);
}

void nulcut_scan(struct nulcut *c, const char *buf, size_t n)
{
	literal_scan(&c->lit, buf, n, nul_scan_feed, c);
}

bool nulcut_view(struct nulcut *c, uint64_t from, char *const **cuts, size_t *n)
{
	uint64_t first;
	char **v;
	bool unknown;
	size_t k = 0;

	*cuts = NULL;
	*n = 0;
	first = c->ncuts > NUL_CUTS ? c->ncuts - NUL_CUTS : 0;
	unknown = c->dropped_off > from;	/* one we no longer have */
	free(c->view);
	c->view = NULL;
	v = malloc(NUL_CUTS * sizeof(*v));
	if (v == NULL)
		return true;
	for (uint64_t i = first; i < c->ncuts; i++) {
		struct nulcut_rec *e = &c->cuts[i % NUL_CUTS];

		if (e->off < from)
			continue;
		if (e->name == NULL)
			unknown = true;
		else
			v[k++] = e->name;
	}
	c->view = v;
	*cuts = v;
	*n = k;
	return unknown;
}

