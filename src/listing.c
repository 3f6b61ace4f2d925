/*
 * listing — a mailbox's listing as bytes and back (see listing.h).
 */
#include "listing.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

#define MAGIC "IMAPFSL1"
#define MSG_FIXED (4 + 4 + 8 + 8 + 8 + 2 + 1 + 1 + 4 + 4 + 4)	/* a message without its strings */

struct out {
	char *b;
	size_t n, cap;
	bool oom;
};

static void put(struct out *o, const void *p, size_t len)
{
	if (o->oom || len == 0)
		return;	/* (an empty string's P may be NULL) */
	if (o->n + len > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *g;

		while (cap < o->n + len)
			cap *= 2;
		g = realloc(o->b, cap);
		if (g == NULL) {
			o->oom = true;
			return;
		}
		o->b = g;
		o->cap = cap;
	}
	memcpy(o->b + o->n, p, len);
	o->n += len;
}

static void put_u(struct out *o, uint64_t v, int bytes)
{
	unsigned char b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(o, b, (size_t)bytes);
}

static void put_str(struct out *o, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	put_u(o, len, 4);
	put(o, s, len);
}

int listing_encode(const char *mailbox, uint32_t uidvalidity, uint64_t highestmodseq,
		   const struct tree_msg *msgs, size_t n, char **out, size_t *len)
{
	struct out o = { 0 };

	put(&o, MAGIC, 8);
	put_str(&o, mailbox);
	put_u(&o, uidvalidity, 4);
	put_u(&o, highestmodseq, 8);
	put_u(&o, n, 8);
	for (size_t i = 0; i < n; i++) {
		const struct tree_msg *m = &msgs[i];

		put_u(&o, m->uid, 4);
		put_u(&o, m->size, 4);
		put_u(&o, (uint64_t)m->date, 8);
		put_u(&o, m->modseq, 8);
		put_u(&o, m->gm_msgid, 8);
		put_u(&o, (uint16_t)m->tz, 2);
		put_u(&o, m->sysflags, 1);
		put_u(&o, m->size_exact ? 1 : 0, 1);
		put_u(&o, m->claimed, 4);
		put_str(&o, m->keywords);
		put_str(&o, m->gm_labels);
	}
	put_u(&o, crc32c(0, o.b, o.n), 4);
	if (o.oom) {
		free(o.b);
		return -ENOMEM;
	}
	*out = o.b;
	*len = o.n;
	return 0;
}

struct in {
	const unsigned char *p;
	size_t n, at;
	bool bad;
};

static uint64_t get_u(struct in *in, int bytes)
{
	uint64_t v = 0;

	if (in->bad || in->n - in->at < (size_t)bytes) {
		in->bad = true;
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)in->p[in->at + (size_t)i] << (8 * i);
	in->at += (size_t)bytes;
	return v;
}

/* A string of the listing: NULL when empty (as the tree keeps none), or
 * -1 through BAD. */
static char *get_str(struct in *in, bool *oom)
{
	uint64_t len = get_u(in, 4);
	char *s;

	if (in->bad || len > in->n - in->at) {
		in->bad = true;
		return NULL;
	}
	if (len == 0)
		return NULL;
	if (memchr(in->p + in->at, '\0', len) != NULL) {
		in->bad = true;	/* a NUL would cut the string short */
		return NULL;
	}
	s = malloc(len + 1);
	if (s == NULL) {
		*oom = true;
		in->bad = true;
		return NULL;
	}
	memcpy(s, in->p + in->at, len);
	s[len] = '\0';
	in->at += len;
	return s;
}

int listing_decode(const char *data, size_t len, const char *mailbox, uint32_t *uidvalidity,
		   uint64_t *highestmodseq, struct tree_msg **msgs, size_t *n)
{
	struct in in = { .p = (const unsigned char *)data, .n = len };
	struct tree_msg *v = NULL;
	uint64_t count, namelen, crc;
	size_t got = 0;
	bool oom = false;

	*msgs = NULL;
	*n = 0;
	if (len < 8 + 4 + 4 + 8 + 8 + 4 || memcmp(data, MAGIC, 8) != 0)
		return -EBADMSG;
	in.n = len - 4;		/* the CRC is not data */
	in.at = 8;
	crc = (uint32_t)(in.p[len - 4] | in.p[len - 3] << 8 | in.p[len - 2] << 16 | (uint32_t)in.p[len - 1] << 24);
	if (crc32c(0, data, len - 4) != crc)
		return -EBADMSG;
	namelen = get_u(&in, 4);
	if (in.bad || namelen != strlen(mailbox) || namelen > in.n - in.at ||
	    memcmp(in.p + in.at, mailbox, namelen) != 0)
		return -EBADMSG;	/* another mailbox's (a hash collision, a rename) */
	in.at += namelen;
	*uidvalidity = (uint32_t)get_u(&in, 4);
	*highestmodseq = get_u(&in, 8);
	count = get_u(&in, 8);
	if (in.bad || count > (in.n - in.at) / MSG_FIXED)
		return -EBADMSG;
	v = count ? calloc(count, sizeof(*v)) : NULL;
	if (count && v == NULL)
		return -ENOMEM;
	for (got = 0; got < count && !in.bad; got++) {
		struct tree_msg *m = &v[got];

		m->uid = (uint32_t)get_u(&in, 4);
		m->size = (uint32_t)get_u(&in, 4);
		m->date = (int64_t)get_u(&in, 8);
		m->modseq = get_u(&in, 8);
		m->gm_msgid = get_u(&in, 8);
		m->tz = (int16_t)(uint16_t)get_u(&in, 2);
		m->sysflags = (uint8_t)get_u(&in, 1);
		m->size_exact = get_u(&in, 1) != 0;
		m->claimed = (uint32_t)get_u(&in, 4);
		m->keywords = get_str(&in, &oom);
		m->gm_labels = get_str(&in, &oom);
		if (m->uid == 0 || (got > 0 && m->uid <= v[got - 1].uid))
			in.bad = true;	/* sorted, each once: what the tree relies on */
	}
	if (in.bad || in.at != in.n) {
		tree_msgs_free(v, got);
		return oom ? -ENOMEM : -EBADMSG;
	}
	*msgs = v;
	*n = (size_t)count;
	return 0;
}
