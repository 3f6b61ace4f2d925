/*
 * vfs_parts — the parts view (see vfs_parts.h for what it shows, how its
 * inodes and parts are kept, and its locks): the table of messages taken
 * apart, their structure as entries and fills (vfs_parts_int.h), lookup,
 * getattr, listing, open and the user.mime.* attributes. The bytes are
 * vfs_parts_fill.c's.
 */
#include "cache.h"
#include "log.h"
#include "mime_decode.h"
#include "mime_parts.h"
#include "pool.h"
#include "session.h"
#include "tree.h"
#include "vfs_base.h"
#include "vfs_internal.h"
#include "vfs_lookup.h"
#include "vfs_parts.h"
#include "vfs_parts_int.h"
#include "vfs_resync.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the table ------------------------------------------------------------ */

void vfs_parts_init(struct vfs *v)
{
	pthread_mutex_init(&v->parts.lock, NULL);
	v->parts.next_serial = 1;
}

/* PM's entries and fills (their files too). */
static void entries_free(struct vfs *v, struct parts_msg *pm)
{
	for (size_t i = 0; i < pm->nfill; i++) {
		struct pfill *f = &pm->fill[i];

		if (f->fd >= 0) {
			close(f->fd);
			__atomic_sub_fetch(&v->parts.fds, 1, __ATOMIC_SEQ_CST);
		}
		cache_writer_abort(f->w);
		free(f->key);
		free(f->carry);
		free(f->conv);
	}
	free(pm->fill);
	pm->fill = NULL;
	pm->nfill = 0;
	for (size_t i = 0; i < pm->n; i++)
		free(pm->e[i].name);
	free(pm->e);
	pm->e = NULL;
	pm->n = 0;
}

static void pm_free(struct vfs *v, struct parts_msg *pm)
{
	if (pm == NULL)
		return;
	entries_free(v, pm);
	mime_part_clear(&pm->top);
	free(pm->mailbox);
	pthread_cond_destroy(&pm->cond);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

void vfs_parts_free(struct vfs *v)
{
	for (int i = 0; i < PARTS_MSGS; i++)
		pm_free(v, v->parts.m[i]);
	pthread_mutex_destroy(&v->parts.lock);
}

static void pm_unref(struct vfs *v, struct parts_msg *pm)
{
	bool last;

	pthread_mutex_lock(&v->parts.lock);
	last = --pm->refs == 0;
	pthread_mutex_unlock(&v->parts.lock);
	if (last)
		pm_free(v, pm);
}

/* Message SERIAL, referenced (pm_unref), or NULL when dropped. */
static struct parts_msg *pm_ref(struct vfs *v, uint32_t serial)
{
	struct parts_msg *pm = NULL;

	pthread_mutex_lock(&v->parts.lock);
	for (int i = 0; i < PARTS_MSGS && pm == NULL; i++)
		if (v->parts.m[i] != NULL && v->parts.m[i]->serial == serial)
			pm = v->parts.m[i];
	if (pm != NULL) {
		pm->refs++;
		pm->used = ++v->parts.tick;
	}
	pthread_mutex_unlock(&v->parts.lock);
	return pm;
}

/* The serial of message UID (of UIDVALIDITY UV) of node NODE, taken into
 * the table (dropping the one used longest ago) when new. */
static int pm_get(struct vfs *v, uint32_t node, uint32_t uid, uint32_t uv, int64_t date, uint64_t msgsize,
		  const char *mailbox, uint32_t *serial)
{
	struct parts_view *pv = &v->parts;
	struct parts_msg *pm, *old = NULL;
	int slot = -1;

	pthread_mutex_lock(&pv->lock);
	for (int i = 0; i < PARTS_MSGS; i++) {
		pm = pv->m[i];
		if (pm != NULL && pm->node == node && pm->uid == uid && pm->uv == uv) {
			pm->used = ++pv->tick;
			*serial = pm->serial;
			pthread_mutex_unlock(&pv->lock);
			return 0;
		}
		if (slot < 0 || (pv->m[slot] != NULL && (pm == NULL || pm->used < pv->m[slot]->used)))
			slot = i;
	}
	pm = calloc(1, sizeof(*pm));
	if (pm == NULL || (pm->mailbox = strdup(mailbox)) == NULL) {
		pthread_mutex_unlock(&pv->lock);
		free(pm);
		return -ENOMEM;
	}
	pthread_mutex_init(&pm->lock, NULL);
	pthread_cond_init(&pm->cond, NULL);
	pm->node = node;
	pm->uid = uid;
	pm->uv = uv;
	pm->date = date;
	pm->msgsize = msgsize;
	pm->refs = 1;
	pm->used = ++pv->tick;
	pm->serial = pv->next_serial;
	pv->next_serial = (pv->next_serial + 1) & SERIAL_MASK;
	if (pv->next_serial == 0)
		pv->next_serial = 1;
	/* the one dropped goes when its last open file does; its inodes
	 * answer ENOENT from now on */
	if (pv->m[slot] != NULL && --pv->m[slot]->refs == 0)
		old = pv->m[slot];
	pv->m[slot] = pm;
	*serial = pm->serial;
	pthread_mutex_unlock(&pv->lock);
	pm_free(v, old);
	return 0;
}

/* ---- talking to the server --------------------------------------------- */

/* ---- loading: the structure into entries and fills ----------------------- */

static bool passthrough_charset(const char *cs)
{
	return cs == NULL || cs[0] == '\0' || strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
	       strcasecmp(cs, "us-ascii") == 0;
}

/* The fill for entry E (appended when new): -1 for what has none. */
static int fill_for(struct parts_msg *pm, const struct pent *e, uint32_t idx)
{
	char sec[sizeof(((struct pfill *)0)->section)];
	struct mime_entry me = { .kind = e->kind, .part = e->part };
	const char *charset = NULL;
	enum pmode mode = PM_BYTES;
	struct pfill *f, *g;

	if (e->kind == MIME_MESSAGE || (e->kind == MIME_RAW && e->msg == NULL))
		return -1;
	mime_entry_section(&me, e->msg, sec, sizeof(sec));
	if (e->kind != MIME_HEADER && e->kind != MIME_RAW && e->part->encoding != NULL) {
		if (strcmp(e->part->encoding, "base64") == 0)
			mode = PM_BASE64;
		else if (strcmp(e->part->encoding, "quoted-printable") == 0)
			mode = PM_QP;
	}
	/* converted whole at its end: held in memory until then */
	if ((e->kind == MIME_TEXT || e->kind == MIME_HTML) && !passthrough_charset(e->part->charset) &&
	    e->part->size <= CONV_MAX)
		charset = e->part->charset;
	for (size_t i = 0; i < pm->nfill; i++)
		if (strcmp(pm->fill[i].section, sec) == 0 && (pm->fill[i].charset == NULL) == (charset == NULL))
			return (int)i;
	g = realloc(pm->fill, (pm->nfill + 1) * sizeof(*g));
	if (g == NULL)
		return -2;
	pm->fill = g;
	f = &pm->fill[pm->nfill];
	memset(f, 0, sizeof(*f));
	snprintf(f->section, sizeof(f->section), "%s", sec);
	f->mode = mode;
	f->charset = charset;
	f->fd = -1;
	f->entry = idx;
	f->window = FIRST_WINDOW;
	/* 0x1f: no server name holds it, so no message's key is a part's */
	if (asprintf(&f->key, "%s\x1f%c%s", pm->mailbox, charset != NULL ? 'T' : 'P', sec) < 0) {
		f->key = NULL;
		return -2;
	}
	if (e->kind == MIME_HEADER)
		f->enc_size = 0;	/* a header's size is nowhere in the structure */
	else
		f->enc_size = e->kind == MIME_RAW ? e->msg->size : e->part->size;
	/* nothing decoded: the structure's size is the size */
	if (mode == PM_BYTES && charset == NULL && e->kind != MIME_HEADER) {
		f->size_known = true;
		f->size = f->enc_size;
	}
	return (int)pm->nfill++;
}

/* The entries of the message whose top is TOP (MSG: the message/rfc822
 * part holding it) into PM's list, in directory DIR; then, below them,
 * those of every message/rfc822 part among them. */
static int flatten(struct parts_msg *pm, const struct mime_part *top, const struct mime_part *msg, uint32_t dir)
{
	struct mime_entry *me = NULL;
	size_t n = 0, first = pm->n, end;
	int rc = mime_entries(top, msg, &me, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct pent *g, *e;

		if (pm->n >= MAX_ENTRIES) {
			log_warn("%s: UID %u: more than %d parts; the rest are not shown", pm->mailbox, pm->uid,
				 MAX_ENTRIES);
			break;
		}
		g = realloc(pm->e, (pm->n + 1) * sizeof(*g));
		if (g == NULL) {
			rc = -ENOMEM;
			break;
		}
		pm->e = g;
		e = &pm->e[pm->n];
		e->name = me[i].name;
		me[i].name = NULL;
		e->kind = me[i].kind;
		e->part = me[i].part;
		e->msg = msg;
		e->dir = dir;
		e->fill = fill_for(pm, e, (uint32_t)pm->n);
		pm->n++;
		if (e->fill == -2)
			rc = -ENOMEM;
	}
	mime_entries_free(me, n);
	end = pm->n;
	for (size_t i = first; rc == 0 && i < end; i++)
		if (pm->e[i].kind == MIME_MESSAGE && pm->e[i].part->nchild == 1)
			rc = flatten(pm, &pm->e[i].part->child[0], pm->e[i].part, (uint32_t)i + 1);
	return rc;
}

/* The structure, the entries and the fills of PM, once. A structure the
 * server cannot give (or that cannot be parsed) leaves header and raw: a
 * broken message is never unreadable. Lock not held. */
static int pm_load(struct vfs *v, struct parts_msg *pm)
{
	struct op op = { 0 };
	struct mime_part top;
	char *header = NULL;
	size_t hlen = 0;
	int rc;

	pthread_mutex_lock(&pm->lock);
	if (pm->loaded) {
		pthread_mutex_unlock(&pm->lock);
		return 0;
	}
	parts_take(pm);
	if (pm->loaded) {	/* by another, while this one waited */
		parts_give(pm);
		pthread_mutex_unlock(&pm->lock);
		return 0;
	}
	pthread_mutex_unlock(&pm->lock);

	op.top = &top;
	op.header = &header;
	op.hlen = &hlen;
	rc = parts_run(v, pm, &op);
	/* a structure that cannot be parsed or is refused (BAD) will not be
	 * had another time either; a lost connection is tried again */
	if (rc == -EPROTO || rc == -EINVAL) {
		log_warn("%s: UID %u: no MIME structure (%s); .parts shows its header and raw only", pm->mailbox,
			 pm->uid, strerror(-rc));
		memset(&top, 0, sizeof(top));
		snprintf(top.type, sizeof(top.type), "application");
		snprintf(top.subtype, sizeof(top.subtype), "octet-stream");
		rc = 0;
	}
	/* made without the lock (a large structure takes a while): nobody
	 * looks at the entries before LOADED, they wait for busy */
	if (rc == 0) {
		pm->top = top;
		rc = flatten(pm, &pm->top, NULL, 0);
		if (rc < 0) {
			/* the fills point into the structure: all go */
			entries_free(v, pm);
			mime_part_clear(&pm->top);
			memset(&pm->top, 0, sizeof(pm->top));
		}
	}
	pthread_mutex_lock(&pm->lock);
	pm->loaded = rc == 0;
	pthread_mutex_unlock(&pm->lock);

	/* the header came along: it is the "header" entry's whole */
	for (size_t i = 0; rc == 0 && header != NULL && i < pm->nfill; i++)
		if (strcmp(pm->fill[i].section, "HEADER") == 0 && !pm->fill[i].done) {
			pthread_mutex_lock(&pm->lock);
			pm->fill[i].enc_off = hlen;	/* (a failed feed resets it) */
			pthread_mutex_unlock(&pm->lock);
			parts_feed(v, pm, &pm->fill[i], header, hlen, true);
		}
	free(header);
	pthread_mutex_lock(&pm->lock);
	parts_give(pm);
	pthread_mutex_unlock(&pm->lock);
	return rc;
}

/* ---- attributes -------------------------------------------------------------- */

static void dir_attr(const struct vfs *v, uint64_t ino, int64_t mtime, struct vfs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = S_IFDIR | 0500;
	a->nlink = 2;
	a->mtime = mtime;
	a->alias = true;	/* looked up anew each time: a dropped message is found again */
	(void)v;
}

/* The message's own attributes (the top "raw" is the message itself). */
static int msg_attr(struct vfs *v, const struct parts_msg *pm, struct vfs_attr *a)
{
	struct tree *t = &v->tree;
	struct tree_msg *m;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	m = pm->node < t->n && t->nodes[pm->node].uidvalidity == pm->uv ?
		tree_msg_find(&t->nodes[pm->node], pm->uid) : NULL;
	if (m == NULL) {
		rc = -ENOENT;
	} else {
		vfs_msg_attr(v, pm->node, &t->nodes[pm->node], m, a);
		a->alias = true;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* Entry IDX's attributes. Lock held; the fill's size known. */
static void entry_attr(const struct vfs *v, const struct parts_msg *pm, uint32_t idx, struct vfs_attr *a)
{
	const struct pent *e = &pm->e[idx];

	if (e->fill < 0) {
		dir_attr(v, parts_ino(pm->serial, idx + 1), pm->date, a);
		return;
	}
	memset(a, 0, sizeof(*a));
	a->ino = parts_ino(pm->serial, idx + 1);
	a->mode = S_IFREG | 0400;
	a->nlink = 1;
	a->size = pm->fill[e->fill].size;
	a->mtime = pm->date;
	a->alias = true;
}

/* Is entry IDX of PM (0: the message's own) a directory? Lock held. */
static bool is_dir(const struct parts_msg *pm, uint32_t idx)
{
	return idx == 0 || pm->e[idx - 1].kind == MIME_MESSAGE;
}

/* PM loaded and referenced for INO (kind 0, serial not 0): 0 and *PM,
 * *IDX (0: the message's directory, else entry + 1). */
static int pm_of(struct vfs *v, uint64_t ino, struct parts_msg **pm, uint32_t *idx)
{
	int rc;

	*pm = pm_ref(v, ino_serial(ino));
	if (*pm == NULL)
		return -ENOENT;
	*idx = ino_low(ino);
	rc = pm_load(v, *pm);
	if (rc == 0) {
		pthread_mutex_lock(&(*pm)->lock);
		if (*idx > (*pm)->n)
			rc = -ENOENT;
		pthread_mutex_unlock(&(*pm)->lock);
	}
	if (rc < 0) {
		pm_unref(v, *pm);
		*pm = NULL;
	}
	return rc;
}

/* Entry IDX (not the message's directory) with its size known, its
 * attributes into A. */
static int entry_attr_resolved(struct vfs *v, struct parts_msg *pm, uint32_t idx, struct vfs_attr *a)
{
	int fill, rc = 0;

	pthread_mutex_lock(&pm->lock);
	fill = pm->e[idx].fill;
	if (pm->e[idx].kind == MIME_RAW && pm->e[idx].msg == NULL) {
		pthread_mutex_unlock(&pm->lock);
		return msg_attr(v, pm, a);
	}
	pthread_mutex_unlock(&pm->lock);
	if (fill >= 0)
		rc = parts_resolve(v, pm, &fill, 1);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&pm->lock);
	if (fill >= 0 && !pm->fill[fill].size_known)
		rc = -EIO;
	else
		entry_attr(v, pm, idx, a);
	pthread_mutex_unlock(&pm->lock);
	return rc;
}

/* ---- lookup, getattr, readdir ---------------------------------------------- */

static int parts_dir_check(struct vfs *v, uint32_t node)
{
	struct tree *t = &v->tree;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (node == 0 || node >= t->n || t->nodes[node].hidden || !t->nodes[node].selectable)
		rc = -ENOENT;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* "42" in MAILBOX/.parts: message 42 of node NODE. */
static int lookup_msg(struct vfs *v, uint32_t node, const char *name, struct vfs_attr *out)
{
	struct tree *t = &v->tree;
	struct tree_msg *m;
	uint64_t uid = 0;
	uint32_t serial, uv = 0;
	uint64_t msgsize = 0;
	int64_t date = 0;
	char *mailbox = NULL;
	int rc;

	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9' || (p == name && *p == '0') || uid > UINT32_MAX / 10)
			return -ENOENT;
		uid = uid * 10 + (uint64_t)(*p - '0');
	}
	if (uid == 0 || uid > UINT32_MAX)
		return -ENOENT;
	rc = vfs_load(v, node);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	m = node < t->n && !t->nodes[node].hidden ? tree_msg_find(&t->nodes[node], (uint32_t)uid) : NULL;
	if (m == NULL) {
		rc = -ENOENT;
	} else {
		uv = t->nodes[node].uidvalidity;
		date = m->date;
		msgsize = m->size;
		mailbox = strdup(t->nodes[node].mailbox);
		rc = mailbox != NULL ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&t->lock);
	if (rc == 0)
		rc = pm_get(v, node, (uint32_t)uid, uv, date, msgsize, mailbox, &serial);
	if (rc == 0)
		dir_attr(v, parts_ino(serial, 0), date, out);
	free(mailbox);
	return rc;
}

int vfs_parts_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out)
{
	struct parts_msg *pm;
	uint32_t idx, i;
	int rc;

	if (!vfs_ino_is_parts(parent)) {
		/* NAME is .parts: a selectable mailbox's */
		pthread_mutex_lock(&v->tree.lock);
		rc = vfs_check_dir_ino(v, parent);
		pthread_mutex_unlock(&v->tree.lock);
		if (rc == 0)
			rc = parts_dir_check(v, tree_ino_node(parent));
		if (rc == 0)
			dir_attr(v, parts_ino(0, tree_ino_node(parent)), v->mounted_at, out);
		return rc;
	}
	if (ino_serial(parent) == 0) {
		rc = parts_dir_check(v, ino_low(parent));
		return rc < 0 ? rc : lookup_msg(v, ino_low(parent), name, out);
	}
	rc = pm_of(v, parent, &pm, &idx);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&pm->lock);
	if (!is_dir(pm, idx))
		rc = -ENOTDIR;
	for (i = 0; rc == 0 && i < pm->n; i++)
		if (pm->e[i].dir == idx && strcmp(pm->e[i].name, name) == 0)
			break;
	if (rc == 0 && i == pm->n)
		rc = -ENOENT;
	pthread_mutex_unlock(&pm->lock);
	if (rc == 0)
		rc = entry_attr_resolved(v, pm, i, out);
	pm_unref(v, pm);
	return rc;
}

int vfs_parts_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out)
{
	struct parts_msg *pm;
	uint32_t idx;
	int rc;

	if (ino_serial(ino) == 0) {
		rc = parts_dir_check(v, ino_low(ino));
		if (rc == 0)
			dir_attr(v, ino, v->mounted_at, out);
		return rc;
	}
	rc = pm_of(v, ino, &pm, &idx);
	if (rc < 0)
		return rc;
	if (idx == 0)
		dir_attr(v, ino, pm->date, out);
	else
		rc = entry_attr_resolved(v, pm, idx - 1, out);
	pm_unref(v, pm);
	return rc;
}

int vfs_parts_readdir(struct vfs *v, uint64_t ino, struct vfs_dirent **out, size_t *nout)
{
	struct vfs_dirent *d = NULL;
	struct parts_msg *pm = NULL;
	struct vfs_attr a, raw;
	size_t n = 0, cap = 0, nw = 0;
	uint32_t idx = 0;
	int *want = NULL, rc;
	bool has_raw = false;

	*out = NULL;
	*nout = 0;
	if (ino_serial(ino) == 0) {
		/* .parts itself lists nothing: messages are opened by name */
		rc = parts_dir_check(v, ino_low(ino));
		if (rc == 0) {
			dir_attr(v, ino, v->mounted_at, &a);
			rc = vfs_dirent_add(&d, &n, &cap, ".", &a);
		}
		if (rc == 0) {
			pthread_mutex_lock(&v->tree.lock);
			vfs_dir_attr(v, ino_low(ino), &a);
			pthread_mutex_unlock(&v->tree.lock);
			rc = vfs_dirent_add(&d, &n, &cap, "..", &a);
		}
		goto out;
	}
	rc = pm_of(v, ino, &pm, &idx);
	if (rc < 0)
		return rc;
	/* every size the listing shows, in one go */
	pthread_mutex_lock(&pm->lock);
	if (!is_dir(pm, idx))
		rc = -ENOTDIR;
	want = calloc(pm->n + 1, sizeof(*want));
	if (want == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < pm->n; i++) {
		if (pm->e[i].dir != idx)
			continue;
		if (pm->e[i].fill >= 0)
			want[nw++] = pm->e[i].fill;
		else if (pm->e[i].kind == MIME_RAW)
			has_raw = true;
	}
	pthread_mutex_unlock(&pm->lock);
	if (rc == 0 && nw > 0)
		rc = parts_resolve(v, pm, want, nw);
	if (rc == 0 && has_raw)
		rc = msg_attr(v, pm, &raw);
	if (rc < 0)
		goto out;

	dir_attr(v, ino, pm->date, &a);
	rc = vfs_dirent_add(&d, &n, &cap, ".", &a);
	if (rc == 0) {
		if (idx == 0) {
			dir_attr(v, parts_ino(0, pm->node), v->mounted_at, &a);
		} else {
			pthread_mutex_lock(&pm->lock);
			uint32_t up = pm->e[idx - 1].dir;
			pthread_mutex_unlock(&pm->lock);
			dir_attr(v, parts_ino(pm->serial, up), pm->date, &a);
		}
		rc = vfs_dirent_add(&d, &n, &cap, "..", &a);
	}
	pthread_mutex_lock(&pm->lock);
	for (size_t i = 0; rc == 0 && i < pm->n; i++) {
		const struct pent *e = &pm->e[i];

		if (e->dir != idx)
			continue;
		if (e->kind == MIME_RAW && e->msg == NULL) {
			rc = vfs_dirent_add(&d, &n, &cap, e->name, &raw);
			continue;
		}
		if (e->fill >= 0 && !pm->fill[e->fill].size_known)
			continue;	/* the server sent nothing for it: logged */
		entry_attr(v, pm, (uint32_t)i, &a);
		rc = vfs_dirent_add(&d, &n, &cap, e->name, &a);
	}
	pthread_mutex_unlock(&pm->lock);
out:
	free(want);
	if (pm != NULL)
		pm_unref(v, pm);
	if (rc < 0) {
		vfs_dirents_free(d, n);
		return rc;
	}
	*out = d;
	*nout = n;
	return 0;
}

/* ---- open and release -------------------------------------------------------- */

int vfs_parts_open(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out)
{
	struct parts_msg *pm;
	struct vfs_file *f;
	uint32_t idx;
	int rc;

	if (ino_serial(ino) == 0)
		return -EISDIR;
	rc = pm_of(v, ino, &pm, &idx);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&pm->lock);
	if (is_dir(pm, idx))
		rc = -EISDIR;
	else if (pm->e[idx - 1].fill < 0)
		rc = -ENOENT;	/* the top raw is the message's own inode */
	else if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		rc = -EPERM;	/* parts are read-only, like messages */
	pthread_mutex_unlock(&pm->lock);
	f = rc == 0 ? calloc(1, sizeof(*f)) : NULL;
	if (rc == 0 && f == NULL)
		rc = -ENOMEM;
	if (rc < 0) {
		pm_unref(v, pm);
		return rc;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->fd = -1;
	f->node = pm->node;
	f->uid = pm->uid;
	f->uidvalidity = pm->uv;
	f->pm = pm;		/* the reference is F's now */
	f->pent = idx - 1;
	pthread_mutex_lock(&pm->lock);
	pm->fill[pm->e[idx - 1].fill].opens++;
	pthread_mutex_unlock(&pm->lock);
	*out = f;
	return 0;
}

void vfs_parts_release(struct vfs *v, struct vfs_file *f)
{
	pthread_mutex_lock(&f->pm->lock);
	f->pm->fill[f->pm->e[f->pent].fill].opens--;
	pthread_mutex_unlock(&f->pm->lock);
	pm_unref(v, f->pm);
	f->pm = NULL;
}

/* ---- attributes: user.mime.* -------------------------------------------------- */

static const char *const mime_xattrs[] = { "user.mime.type", "user.mime.charset", "user.mime.filename",
					   "user.mime.part" };

/* The value of xattr K (index into mime_xattrs) of entry IDX (-1: the
 * message's directory) into BUF; false when it has none. Lock held. */
static bool xattr_value(const struct parts_msg *pm, long idx, int k, char *buf, size_t len)
{
	const struct pent *e = idx >= 0 ? &pm->e[idx] : NULL;
	const struct mime_part *p = e != NULL ? e->part : NULL;

	buf[0] = '\0';
	switch (k) {
	case 0:
		if (e == NULL || e->kind == MIME_MESSAGE || e->kind == MIME_RAW)
			snprintf(buf, len, "message/rfc822");
		else if (e->kind == MIME_HEADER)
			snprintf(buf, len, "text/rfc822-headers");
		else if (p->type[0] != '\0')
			snprintf(buf, len, "%s/%s", p->type, p->subtype);
		break;
	case 1:
		/* text and html are converted to UTF-8 (but UTF-8 or ASCII
		 * already, and text too large to convert) */
		if (e != NULL && (e->kind == MIME_TEXT || e->kind == MIME_HTML))
			snprintf(buf, len, "%s", pm->fill[e->fill].charset != NULL ? "utf-8" :
				 p->charset != NULL ? p->charset : "us-ascii");
		else if (e != NULL && e->kind == MIME_LEAF && p->charset != NULL)
			snprintf(buf, len, "%s", p->charset);
		break;
	case 2:
		if (e != NULL && (e->kind == MIME_LEAF || e->kind == MIME_MESSAGE) && p->filename != NULL)
			snprintf(buf, len, "%s", p->filename);
		break;
	case 3:
		if (e != NULL) {
			struct mime_entry me = { .kind = e->kind, .part = e->part };

			mime_entry_section(&me, e->msg, buf, len);
		}
		break;
	}
	return buf[0] != '\0';
}

int vfs_parts_getxattr(struct vfs *v, uint64_t ino, const char *name, char **val, size_t *len)
{
	struct parts_msg *pm;
	char buf[1024];
	uint32_t idx;
	int k, rc;

	for (k = 0; k < 4 && strcmp(name, mime_xattrs[k]) != 0; k++)
		;
	if (ino_serial(ino) == 0)
		return -ENODATA;
	rc = pm_of(v, ino, &pm, &idx);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&pm->lock);
	rc = k < 4 && xattr_value(pm, (long)idx - 1, k, buf, sizeof(buf)) ? 0 : -ENODATA;
	pthread_mutex_unlock(&pm->lock);
	pm_unref(v, pm);
	if (rc < 0)
		return rc;
	*len = strlen(buf);
	*val = strdup(buf);
	return *val != NULL ? 0 : -ENOMEM;
}

int vfs_parts_listxattr(struct vfs *v, uint64_t ino, char **list, size_t *len)
{
	struct parts_msg *pm;
	char buf[1024], out[128];
	size_t at = 0;
	uint32_t idx;
	int rc;

	*list = NULL;
	*len = 0;
	if (ino_serial(ino) == 0)
		return 0;
	rc = pm_of(v, ino, &pm, &idx);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&pm->lock);
	for (int k = 0; k < 4; k++)
		if (xattr_value(pm, (long)idx - 1, k, buf, sizeof(buf))) {
			memcpy(out + at, mime_xattrs[k], strlen(mime_xattrs[k]) + 1);
			at += strlen(mime_xattrs[k]) + 1;
		}
	pthread_mutex_unlock(&pm->lock);
	pm_unref(v, pm);
	if (at == 0)
		return 0;
	*list = malloc(at);
	if (*list == NULL)
		return -ENOMEM;
	memcpy(*list, out, at);
	*len = at;
	return 0;
}
