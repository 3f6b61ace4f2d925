/*
 * kept — the byte format of the files kept with the cache (see kept.h).
 */
#include "kept.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

#define KEPT_MAGIC_LEN 8
#define KEPT_CRC_LEN 4

void kept_out_init(struct kept_out *o, const char magic[8])
{
	*o = (struct kept_out){ 0 };
	kept_put(o, magic, KEPT_MAGIC_LEN);
}

void kept_put(struct kept_out *o, const void *p, size_t len)
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

void kept_put_u(struct kept_out *o, uint64_t v, int bytes)
{
	unsigned char b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	kept_put(o, b, (size_t)bytes);
}

void kept_put_str(struct kept_out *o, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	kept_put_u(o, len, 4);
	kept_put(o, s, len);
}

int kept_out_seal(struct kept_out *o, char **out, size_t *len)
{
	kept_put_u(o, crc32c(0, o->b, o->n), KEPT_CRC_LEN);
	if (o->oom) {
		free(o->b);
		*o = (struct kept_out){ 0 };
		return -ENOMEM;
	}
	*out = o->b;
	*len = o->n;
	*o = (struct kept_out){ 0 };
	return 0;
}

int kept_in_open(struct kept_in *in, const void *data, size_t len, const char magic[8])
{
	const unsigned char *p = data;
	uint32_t crc;

	*in = (struct kept_in){ .p = p, .bad = true };
	if (len < KEPT_MAGIC_LEN + KEPT_CRC_LEN || memcmp(p, magic, KEPT_MAGIC_LEN) != 0)
		return -EBADMSG;
	crc = (uint32_t)p[len - 4] | (uint32_t)p[len - 3] << 8 | (uint32_t)p[len - 2] << 16 |
	      (uint32_t)p[len - 1] << 24;
	if (crc32c(0, data, len - KEPT_CRC_LEN) != crc)
		return -EBADMSG;
	in->n = len - KEPT_CRC_LEN;	/* the checksum is not data */
	in->at = KEPT_MAGIC_LEN;
	in->bad = false;
	return 0;
}

uint64_t kept_get_u(struct kept_in *in, int bytes)
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

char *kept_get_str(struct kept_in *in)
{
	uint64_t len = kept_get_u(in, 4);
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
		in->oom = true;
		in->bad = true;
		return NULL;
	}
	memcpy(s, in->p + in->at, len);
	s[len] = '\0';
	in->at += len;
	return s;
}

int kept_in_done(const struct kept_in *in)
{
	if (in->oom)
		return -ENOMEM;
	return in->bad || in->at != in->n ? -EBADMSG : 0;
}
