/*
 * vfs_parts_fill — the parts view's bytes (vfs_parts.h): a part fetched
 * alone, in windows that grow as the reader goes on (the first 32 KiB,
 * so head -c stays under 64 KiB), decoded from base64 or quoted-printable
 * as it comes, text converted to UTF-8 at its end, and kept in the body
 * cache; the sizes of parts before they are read, in one UID FETCH for a
 * whole listing; reading.
 */
#include "cache.h"
#include "log.h"
#include "pool.h"
#include "vfs_base.h"
#include "vfs_parts.h"
#include "vfs_parts_int.h"
#include "vfs_resync.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void parts_take(struct parts_msg *pm)
{
	while (pm->busy)
		pthread_cond_wait(&pm->cond, &pm->lock);
	pm->busy = true;
}

void parts_give(struct parts_msg *pm)
{
	pm->busy = false;
	pthread_cond_broadcast(&pm->cond);
}


/* OP on a session with PM's mailbox selected, its UIDVALIDITY checked;
 * once more on a new connection when the connection broke (a FETCH with
 * .PEEK changes nothing). No lock held. */
int parts_run(struct vfs *v, const struct parts_msg *pm, struct op *op)
{
	struct tree *t = &v->tree;
	struct session *s;
	char *mailbox = NULL;
	int rc = 0;

	/* the mailbox's name now (a RENAME since keeps its node and UIDs) */
	pthread_mutex_lock(&t->lock);
	if (pm->node < t->n && !t->nodes[pm->node].hidden && t->nodes[pm->node].mailbox != NULL)
		mailbox = strdup(t->nodes[pm->node].mailbox);
	pthread_mutex_unlock(&t->lock);
	if (mailbox == NULL)
		return -ENOENT;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool broken;

		rc = vfs_session_checked(v, pm->node, mailbox, pm->uv, pm->uid, &s);
		if (rc < 0)
			break;
		if (op->top != NULL)
			rc = session_fetch_structure(s, pm->uid, op->top, op->header, op->hlen);
		else
			rc = session_fetch_sections(s, pm->uid, op->req, op->n);
		broken = rc < 0 && session_broken(s);
		pool_checkin(v->pool, s);
		if (!broken || attempt > 0)
			break;
		log_info("%s: connection lost while reading UID %u's parts; trying once more", pm->mailbox,
			 pm->uid);
	}
	if (rc == -ENOENT)
		log_err("%s: UID %u no longer exists on the server", mailbox, pm->uid);
	free(mailbox);
	return rc;
}

/* The cache claim of F's entry: its section's size (+1: 0 is "unknown"),
 * so that a structure that changed is not answered from the cache. */
static uint32_t fill_claim(const struct pfill *f)
{
	return f->enc_size >= UINT32_MAX ? UINT32_MAX : (uint32_t)f->enc_size + 1;
}

/* The cache key of F's decoded bytes. */
static struct cache_key fill_key(const struct parts_msg *pm, const struct pfill *f)
{
	return (struct cache_key){ .mailbox = f->key, .uidvalidity = pm->uv, .uid = pm->uid,
				   .claim = fill_claim(f) };
}

/* Keep FD, a done fill's cached bytes, in F; or, with PARTS_FDS open
 * already, close it (a reader opens the cache entry for itself then). F's
 * message's lock held. */
static void fill_keep_fd(struct vfs *v, struct pfill *f, int fd)
{
	if (f->fd >= 0) {
		close(fd);	/* (it has one) */
		return;
	}
	if (!f->pin && __atomic_add_fetch(&v->parts.fds, 1, __ATOMIC_SEQ_CST) > PARTS_FDS) {
		__atomic_sub_fetch(&v->parts.fds, 1, __ATOMIC_SEQ_CST);
		close(fd);
		fd = -1;
	} else if (f->pin) {
		__atomic_add_fetch(&v->parts.fds, 1, __ATOMIC_SEQ_CST);
	}
	f->fd = fd;
}

/* F is whole in the cache (FD, of SIZE bytes): done, its size sure.
 * Lock held. */
static void fill_done(struct vfs *v, struct pfill *f, int fd, uint64_t size)
{
	fill_keep_fd(v, f, fd);
	f->size = size;
	f->size_known = true;
	f->guessed = false;
	f->done = true;
}

/* F back to nothing decoded (a failure half way, or its cache entry
 * gone): the next read starts it again. Its size, once known, stays.
 * Lock held. */
static void fill_reset(struct pfill *f)
{
	cache_writer_abort(f->w);
	f->w = NULL;
	f->done = false;
	f->decoded = 0;
	f->enc_off = 0;
	f->window = FIRST_WINDOW;
	memset(&f->b64, 0, sizeof(f->b64));
	free(f->carry);
	f->carry = NULL;
	f->ncarry = 0;
	free(f->conv);
	f->conv = NULL;
	f->nconv = 0;
}

/* The decoded bytes DATA (LEN) into fill F's writer, made when needed.
 * Busy held, no lock. */
static int fill_write(struct vfs *v, struct parts_msg *pm, struct pfill *f, const char *data, size_t len)
{
	struct cache_key k = fill_key(pm, f);
	struct cache_writer *w = NULL;
	int rc = 0;

	if (f->w == NULL) {
		rc = cache_writer_new(v->cache, &k, &w);
		pthread_mutex_lock(&pm->lock);
		/* each part begun and not read to its end holds a file: at
		 * most PARTS_WRITERS per message; over that, the one fed
		 * longest ago that no file has open starts again when read
		 * on (with every one open, the bound gives way) */
		for (;;) {
			struct pfill *old = NULL;
			size_t held = 0;

			for (size_t i = 0; i < pm->nfill; i++) {
				struct pfill *g = &pm->fill[i];

				if (g == f || g->w == NULL)
					continue;
				held++;
				if (g->opens == 0 && (old == NULL || g->stepped < old->stepped))
					old = g;
			}
			if (held < PARTS_WRITERS || old == NULL)
				break;
			fill_reset(old);
		}
		f->w = w;
		pthread_mutex_unlock(&pm->lock);
	}
	if (rc == 0 && len > 0)
		rc = cache_writer_add(f->w, data, len);
	return rc;
}

/* LEN bytes of F's section (LAST: the end of it) decoded into F. At the
 * end the fill is committed to the cache and done; a size told before
 * that turns out other is logged and the kernel told. Busy held, no
 * lock. */
int parts_feed(struct vfs *v, struct parts_msg *pm, struct pfill *f, const char *in, size_t len, bool last)
{
	char *out = NULL, *joined = NULL;
	size_t nout = 0;
	bool changed = false;
	int rc = 0, fd = -1;

	switch (f->mode) {
	case PM_BYTES:
		out = (char *)in;
		nout = len;
		break;
	case PM_BASE64:
		out = malloc(mime_base64_max(len) + 1);
		if (out == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		nout = mime_base64_step(&f->b64, in, len, out);
		break;
	case PM_QP: {
		/* whole lines only, but at the end: "=" and "=4" cut by the
		 * window's end are the start of an escape */
		size_t all = f->ncarry + len, cut = all;

		joined = malloc(all + 1);
		out = malloc(all + 1);
		if (joined == NULL || out == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		if (f->ncarry)
			memcpy(joined, f->carry, f->ncarry);
		if (len)
			memcpy(joined + f->ncarry, in, len);
		if (!last) {
			while (cut > 0 && joined[cut - 1] != '\n')
				cut--;
			/* no line end for long (a hostile part): all but what
			 * may begin an escape */
			if (all - cut > QP_LINE_MAX) {
				cut = all - 3;
				/* not inside an "=XY" */
				if (joined[cut - 1] == '=')
					cut -= 1;
				else if (joined[cut - 2] == '=')
					cut -= 2;
			}
		}
		nout = mime_qp_decode(joined, cut, out, false);
		free(f->carry);
		f->carry = NULL;
		f->ncarry = all - cut;
		if (f->ncarry) {
			f->carry = malloc(f->ncarry);
			if (f->carry == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			memcpy(f->carry, joined + cut, f->ncarry);
		}
		break;
	}
	}
	if (f->charset != NULL) {
		/* converted whole at the end: a charset's state spans lines */
		char *g = f->nconv + nout <= CONV_MAX ? realloc(f->conv, f->nconv + nout + 1) : NULL;

		if (g == NULL && f->nconv + nout > CONV_MAX) {
			log_err("%s: UID %u: text part %s is over %d MiB, not the size its structure says",
				pm->mailbox, pm->uid, f->section, CONV_MAX >> 20);
			rc = -EFBIG;
			goto out;
		}
		if (g == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		f->conv = g;
		if (nout)
			memcpy(f->conv + f->nconv, out, nout);
		f->nconv += nout;
		if (last) {
			char *u = NULL;
			size_t ulen = 0;

			rc = mime_to_utf8(f->charset, f->conv, f->nconv, &u, &ulen);
			if (rc == 0)
				rc = fill_write(v, pm, f, u, ulen);
			free(u);
			free(f->conv);
			f->conv = NULL;
			f->nconv = 0;
		}
	} else {
		rc = fill_write(v, pm, f, out, nout);
	}
	if (rc < 0)
		goto out;
	if (last) {
		struct cache_writer *w = f->w;
		uint64_t got = cache_writer_len(w);

		pthread_mutex_lock(&pm->lock);
		f->w = NULL;	/* readers wait for DONE now */
		pthread_mutex_unlock(&pm->lock);
		rc = cache_writer_commit(w, &fd);
		pthread_mutex_lock(&pm->lock);
		if (rc == 0) {
			changed = f->size_known && f->size != got;
			if (changed)
				log_warn("%s: UID %u: part %s is %" PRIu64 " bytes decoded, not %" PRIu64
					 " as its two ends said", pm->mailbox, pm->uid, f->section, got, f->size);
			fill_done(v, f, fd, got);
		}
		pthread_mutex_unlock(&pm->lock);
		if (changed)
			vfs_notify_inode(v, parts_ino(pm->serial, f->entry + 1));
	} else if (f->w != NULL) {	/* (text to convert has none yet) */
		pthread_mutex_lock(&pm->lock);
		f->decoded = cache_writer_len(f->w);
		pthread_mutex_unlock(&pm->lock);
	}
out:
	if (rc < 0) {
		/* half fed: what is decoded no longer follows from ENC_OFF */
		pthread_mutex_lock(&pm->lock);
		fill_reset(f);
		pthread_mutex_unlock(&pm->lock);
	}
	if (out != in)
		free(out);
	free(joined);
	return rc;
}

/* The answer to a window of LEN bytes of F's section from F->enc_off:
 * GOT bytes at BUF. Fewer than asked is the section's end. A section that
 * ends before its structure's size, or goes on past the message's, is an
 * error: nothing of it is kept (a part cut short is never served as
 * whole). Busy held, no lock. */
static int fill_take(struct vfs *v, struct parts_msg *pm, struct pfill *f, const char *buf, size_t got,
		     uint32_t len)
{
	uint64_t end = f->enc_off + got;
	bool last = got < len;
	int rc;

	uint64_t bound = (pm->msgsize > 0 ? pm->msgsize : f->enc_size > 0 ? f->enc_size : HEADER_MAX) + 65536;

	if ((last && f->enc_size > 0 && end < f->enc_size) || end > bound) {
		log_err("%s: UID %u: the server sent %" PRIu64 "%s bytes of part %s; its structure says %"
			PRIu64 ", the message has %" PRIu64, pm->mailbox, pm->uid, end, last ? "" : " or more",
			f->section, f->enc_size, pm->msgsize);
		pthread_mutex_lock(&pm->lock);
		fill_reset(f);
		pthread_mutex_unlock(&pm->lock);
		return -EIO;
	}
	/* before the feed, which may make it done (a reader may then start
	 * it again: it must find all of it fed); a failed feed resets it */
	pthread_mutex_lock(&pm->lock);
	f->enc_off = end;
	if (f->window < LAST_WINDOW)
		f->window *= 2;
	f->stepped = ++pm->steps;
	pthread_mutex_unlock(&pm->lock);
	rc = parts_feed(v, pm, f, buf, got, last);
	return rc;
}

/* The next window of F's section, decoded. Busy held, no lock. */
static int fill_step(struct vfs *v, struct parts_msg *pm, struct pfill *f)
{
	struct session_section r = { .section = f->section, .off = f->enc_off, .len = f->window };
	struct op op = { .req = &r, .n = 1 };
	int rc;

	/* one byte past what the structure says is left: a short answer is
	 * the end, without asking once more for nothing */
	if (f->enc_size > f->enc_off && f->enc_size - f->enc_off + 1 < r.len)
		r.len = (uint32_t)(f->enc_size - f->enc_off + 1);
	rc = parts_run(v, pm, &op);
	if (rc == 0 && r.buf == NULL) {
		log_err("%s: UID %u: the server sent nothing for part %s", pm->mailbox, pm->uid, f->section);
		rc = -EIO;
	}
	if (rc == 0)
		rc = fill_take(v, pm, f, r.buf, r.got, r.len);
	free(r.buf);
	return rc;
}

/* Is F's decoded part in the cache (a part read on an earlier mount)?
 * Busy held, no lock. */
static void fill_cached(struct vfs *v, struct parts_msg *pm, struct pfill *f)
{
	struct cache_key k = fill_key(pm, f);
	uint64_t len;
	int fd;

	if (cache_get(v->cache, &k, false, &fd, &len) < 0)
		return;
	pthread_mutex_lock(&pm->lock);
	fill_done(v, f, fd, len);
	pthread_mutex_unlock(&pm->lock);
}

/* ---- sizes ------------------------------------------------------------------ */

/* The index of the request for SECTION <OFF.LEN> in REQ (added when
 * new: two fills of one section, converted or not, ask once). */
static int req_add(struct session_section *req, size_t *n, const char *section, uint64_t off, uint32_t len)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(req[i].section, section) == 0 && req[i].off == off && req[i].len == len)
			return (int)i;
	req[*n] = (struct session_section){ .section = section, .off = off, .len = len };
	return (int)(*n)++;
}

/* Make the sizes of the fills WANT[0..N) known: from the cache, else in
 * one UID FETCH (a base64 part's two ends; a part of up to WHOLE_MAX
 * whole, decoded and kept), else by decoding the part to its end. A part
 * that fails is left unknown (logged; a listing leaves it out); only the
 * one FETCH's failure is returned. Lock not held. */
int parts_resolve(struct vfs *v, struct parts_msg *pm, const int *want, size_t n)
{
	struct session_section *req = NULL;
	int *head = NULL, *tail = NULL, *todo = NULL, *large = NULL;
	size_t nreq = 0, ntodo = 0, nlarge = 0, i;
	uint64_t whole = 0;	/* bytes asked for whole in the one FETCH */
	int rc = 0;

	pthread_mutex_lock(&pm->lock);
	for (i = 0; i < n && (pm->fill[want[i]].size_known || pm->fill[want[i]].done); i++)
		;
	if (i == n) {
		pthread_mutex_unlock(&pm->lock);
		return 0;
	}
	parts_take(pm);
	pthread_mutex_unlock(&pm->lock);

	req = calloc(2 * n + 1, sizeof(*req));
	head = calloc(n + 1, sizeof(*head));
	tail = calloc(n + 1, sizeof(*tail));
	todo = calloc(n + 1, sizeof(*todo));
	large = calloc(n + 1, sizeof(*large));
	if (req == NULL || head == NULL || tail == NULL || todo == NULL || large == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct pfill *f = &pm->fill[want[i]];
		uint64_t len = f->enc_size ? f->enc_size + 1 : HEADER_MAX + 1;
		bool seen = false;

		for (size_t k = 0; k < i; k++)
			seen = seen || want[k] == want[i];
		if (seen || f->size_known || f->done)
			continue;
		if (f->enc_off > 0) {
			large[nlarge++] = want[i];	/* a read has begun it */
			continue;
		}
		fill_cached(v, pm, f);
		if (f->done)
			continue;
		if (f->mode == PM_BASE64 && f->charset == NULL && f->enc_size > 2 * PROBE) {
			todo[ntodo] = want[i];
			head[ntodo] = req_add(req, &nreq, f->section, 0, PROBE);
			tail[ntodo++] = req_add(req, &nreq, f->section, f->enc_size - PROBE, PROBE);
		} else if (f->enc_size <= WHOLE_MAX && whole + len <= BATCH_MAX) {
			/* one byte more than the structure says: a short
			 * answer is the end */
			whole += len;
			todo[ntodo] = want[i];
			head[ntodo] = req_add(req, &nreq, f->section, 0, (uint32_t)len);
			tail[ntodo++] = -1;
		} else {
			large[nlarge++] = want[i];
		}
	}
	if (nreq > 0) {
		struct op op = { .req = req, .n = nreq };

		rc = parts_run(v, pm, &op);
	}
	for (i = 0; rc == 0 && i < ntodo; i++) {
		struct pfill *f = &pm->fill[todo[i]];
		const struct session_section *h = &req[head[i]], *t = tail[i] >= 0 ? &req[tail[i]] : NULL;
		uint64_t size;

		if (h->buf == NULL || (t != NULL && t->buf == NULL)) {
			log_err("%s: UID %u: the server sent nothing for part %s", pm->mailbox, pm->uid, f->section);
		} else if (t == NULL) {
			if (fill_take(v, pm, f, h->buf, h->got, h->len) == 0 && !f->done)
				large[nlarge++] = todo[i];	/* more than its structure says */
		} else if (mime_base64_size(h->buf, h->got, t->buf, t->got, f->enc_size, &size) == 1) {
			pthread_mutex_lock(&pm->lock);
			f->size = size;
			f->size_known = true;
			f->guessed = true;
			pthread_mutex_unlock(&pm->lock);
		} else {
			large[nlarge++] = todo[i];	/* lines not all alike: decode it */
		}
	}
	/* the rest: decoded to the end once, and kept */
	for (i = 0; rc == 0 && i < nlarge; i++) {
		int r = 0;

		while (r == 0 && !pm->fill[large[i]].done)
			r = fill_step(v, pm, &pm->fill[large[i]]);
	}
out:
	for (i = 0; req != NULL && i < nreq; i++)
		free(req[i].buf);
	free(req);
	free(head);
	free(tail);
	free(todo);
	free(large);
	pthread_mutex_lock(&pm->lock);
	parts_give(pm);
	pthread_mutex_unlock(&pm->lock);
	return rc;
}

/* ---- reading ------------------------------------------------------------------ */

/* A done fill's bytes from the cache, for reader VF (whose fd it
 * becomes): 0, or -ENOENT when the entry is gone (evicted: F is started
 * again) . Lock held; dropped while the cache checks the file. */
static int fill_reopen(struct vfs *v, struct parts_msg *pm, struct pfill *f, struct vfs_file *vf)
{
	struct cache_key k = fill_key(pm, f);
	uint64_t len;
	int fd, rc;

	pthread_mutex_unlock(&pm->lock);
	rc = cache_get(v->cache, &k, false, &fd, &len);
	pthread_mutex_lock(&pm->lock);
	if (rc == 0 && vf->fd < 0)
		vf->fd = fd;
	else if (rc == 0)
		close(fd);
	while (rc < 0 && pm->busy)
		pthread_cond_wait(&pm->cond, &pm->lock);	/* nobody feeds it while it is reset */
	if (rc < 0 && f->done && f->fd < 0) {
		/* gone from the cache (a part larger than it, or evicted):
		 * decoded again, and then kept open whatever PARTS_FDS says */
		log_debug("%s: UID %u: part %s left the cache; fetching it again", pm->mailbox, pm->uid,
			  f->section);
		fill_reset(f);
		f->pin = true;
	}
	return rc;
}

ssize_t vfs_parts_read(struct vfs *v, struct vfs_file *vf, char *buf, size_t size, uint64_t off)
{
	struct parts_msg *pm = vf->pm;
	struct pfill *f;
	uint64_t end;
	ssize_t r;
	int fd, rc;

	pthread_mutex_lock(&pm->lock);
	f = &pm->fill[pm->e[vf->pent].fill];
	for (;;) {
		if (f->done && f->fd < 0 && vf->fd < 0) {
			fill_reopen(v, pm, f, vf);
			continue;
		}
		if (f->done) {
			/* F's fd lives as long as PM, which VF holds; VF's its own */
			fd = f->fd >= 0 ? f->fd : vf->fd;
			end = f->size;
			pthread_mutex_unlock(&pm->lock);
			if (off >= end)
				return 0;
			if (size > end - off)
				size = (size_t)(end - off);
			do
				r = pread(fd, buf, size, (off_t)(CACHE_DATA_OFF + off));
			while (r < 0 && errno == EINTR);
			return r < 0 ? -errno : r;
		}
		if (f->w != NULL && f->decoded >= off + size) {
			r = cache_writer_pread(f->w, buf, size, off);
			pthread_mutex_unlock(&pm->lock);
			return r;
		}
		if (pm->busy) {
			pthread_cond_wait(&pm->cond, &pm->lock);
			continue;
		}
		parts_take(pm);
		pthread_mutex_unlock(&pm->lock);
		rc = fill_step(v, pm, f);
		pthread_mutex_lock(&pm->lock);
		parts_give(pm);
		if (rc < 0) {
			pthread_mutex_unlock(&pm->lock);
			return rc == -ENOENT ? -ESTALE : rc;
		}
	}
}

bool vfs_parts_size_sure(struct vfs *v, const struct vfs_file *vf)
{
	struct parts_msg *pm = vf->pm;
	const struct pfill *f;
	bool sure;

	(void)v;
	pthread_mutex_lock(&pm->lock);
	f = &pm->fill[pm->e[vf->pent].fill];
	sure = f->done || (f->size_known && !f->guessed);
	pthread_mutex_unlock(&pm->lock);
	return sure;
}

