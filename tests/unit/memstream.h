/*
 * memstream — a libetpan mailstream that writes into memory, so tests and
 * fuzz targets can see the exact bytes libetpan's own command senders
 * produce for a string (the bytes that would go on the wire).
 *
 * memstream_new returns a mailstream the caller frees with mailstream_close;
 * memstream_bytes gives what was written so far (owned by the stream).
 */
#ifndef IMAPFS_TEST_MEMSTREAM_H
#define IMAPFS_TEST_MEMSTREAM_H

#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

/* libetpan's senders are exported but their header is not installed. */
int mailimap_create_send(mailstream *fd, const char *mb);
int mailimap_login_send(mailstream *fd, const char *userid, const char *password);
int mailimap_crlf_send(mailstream *fd);

struct memstream_buf {
	char *data;
	size_t len, cap;
};

static ssize_t memstream_read(mailstream_low *s, void *buf, size_t count)
{
	(void)s; (void)buf; (void)count;
	return 0;
}

static ssize_t memstream_write(mailstream_low *s, const void *buf, size_t count)
{
	struct memstream_buf *m = s->data;

	if (m->len + count > m->cap) {
		size_t cap = (m->len + count) * 2 + 64;
		char *d = realloc(m->data, cap);

		if (d == NULL)
			return -1;
		m->data = d;
		m->cap = cap;
	}
	memcpy(m->data + m->len, buf, count);
	m->len += count;
	return (ssize_t)count;
}

static int memstream_close(mailstream_low *s)
{
	(void)s;
	return 0;
}

static int memstream_fd(mailstream_low *s)
{
	(void)s;
	return -1;
}

static void memstream_free(mailstream_low *s)
{
	struct memstream_buf *m = s->data;

	free(m->data);
	free(m);
	free(s);
}

static void memstream_cancel(mailstream_low *s)
{
	(void)s;
}

static mailstream_low_driver memstream_driver = {
	.mailstream_read = memstream_read,
	.mailstream_write = memstream_write,
	.mailstream_close = memstream_close,
	.mailstream_get_fd = memstream_fd,
	.mailstream_free = memstream_free,
	.mailstream_cancel = memstream_cancel,
};

static inline mailstream *memstream_new(void)
{
	struct memstream_buf *m = calloc(1, sizeof(*m));
	mailstream_low *low = m ? mailstream_low_new(m, &memstream_driver) : NULL;

	if (low == NULL) {
		free(m);
		return NULL;
	}
	return mailstream_new(low, 8192);
}

/* Flush and return what was written; *LEN its length. */
static inline const char *memstream_bytes(mailstream *st, size_t *len)
{
	struct memstream_buf *m = mailstream_get_low(st)->data;

	mailstream_flush(st);
	*len = m->len;
	return m->data ? m->data : "";
}

#endif
