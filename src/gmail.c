/*
 * gmail — the msgid table, label-to-folder mapping, link counts and the
 * user.imap.labels syntax (see gmail.h for what and why).
 *
 * The table is an array (an inode number is an index, so entries never
 * move or go) with a chained hash on the msgid beside it, doubled with the
 * array, so seeing a message costs O(1) whatever the account's size.
 */
#include "gmail.h"
#include "mutf7.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* SPECIAL-USE attribute and the system label naming each special folder
 * (Gmail's X-GM-LABELS spelling); GMAIL_ALL has no label and INBOX is
 * found by name. Same order as the GMAIL_* enum. */
static const struct {
	const char *attr;
	const char *label;
} gmail_spec[GMAIL_NSPEC] = {
	{ "\\All", NULL },
	{ "\\Trash", "\\Trash" },
	{ "\\Junk", "\\Spam" },
	{ "\\Sent", "\\Sent" },
	{ "\\Drafts", "\\Draft" },
	{ "\\Important", "\\Important" },
	{ "\\Flagged", "\\Starred" },
	{ NULL, "\\Inbox" },
};

void gmail_free(struct gmail *g)
{
	free(g->v);
	free(g->buckets);
	g->v = NULL;
	g->buckets = NULL;
	g->n = g->cap = g->nbuckets = 0;
}

static size_t msgid_hash(uint64_t id)
{
	id *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(id ^ (id >> 31));
}

static long find(const struct gmail *g, uint64_t msgid)
{
	uint32_t i;

	if (g->nbuckets == 0)
		return -1;
	for (i = g->buckets[msgid_hash(msgid) & (g->nbuckets - 1)]; i != 0; i = g->v[i - 1].next)
		if (g->v[i - 1].msgid == msgid)
			return (long)i - 1;
	return -1;
}

/* Room for one more entry: the array and the buckets double together. */
static int reserve(struct gmail *g)
{
	struct gmail_ent *nv;
	uint32_t *nb;
	size_t cap, i;

	if (g->n >= (g->max ? g->max : GMAIL_MAX_MSGIDS)) {
		g->full = true;
		return -ENOSPC;
	}
	if (g->n < g->cap)
		return 0;
	cap = g->cap ? g->cap * 2 : 1024;
	if (cap >= (1ULL << 32) - 1)
		return -ENOMEM;
	nv = realloc(g->v, cap * sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	g->v = nv;
	nb = calloc(cap, sizeof(*nb));
	if (nb == NULL)
		return -ENOMEM;
	free(g->buckets);
	g->buckets = nb;
	g->nbuckets = cap;
	g->cap = cap;
	for (i = 0; i < g->n; i++) {
		size_t b = msgid_hash(g->v[i].msgid) & (cap - 1);

		g->v[i].next = nb[b];
		nb[b] = (uint32_t)i + 1;
	}
	return 0;
}

/* Does NODE still show MSGID under UID? */
static bool still_there(const struct tree *t, uint32_t node, uint32_t uid, uint64_t msgid)
{
	struct tree_msg *m;

	if (node >= t->n || t->nodes[node].hidden || t->nodes[node].state != TREE_READY)
		return false;
	m = tree_msg_find(&t->nodes[node], uid);
	return m != NULL && m->gm_msgid == msgid;
}

/* (NODE, UID) is where E was seen last: one of its places. */
static void seen_at(struct gmail_ent *e, uint32_t node, uint32_t uid)
{
	int k;

	for (k = 0; k < GMAIL_PLACES; k++)
		if (e->node[k] == node && e->uid[k] == uid)
			break;
	if (k == GMAIL_PLACES) {
		/* a new place: it replaces the oldest one */
		k = (e->last + 1) % GMAIL_PLACES;
		e->node[k] = node;
		e->uid[k] = uid;
	}
	e->last = (uint8_t)k;
}

uint64_t gmail_ino(struct gmail *g, const struct tree *t, uint64_t msgid, uint32_t node, uint32_t uid)
{
	long i = find(g, msgid);
	size_t b;

	(void)t;
	if (i >= 0) {
		/* the place it was last looked up or listed: an open that
		 * follows (grep -r after readdir) then reads it there, and
		 * read-ahead follows that folder's order */
		seen_at(&g->v[i], node, uid);
		return GMAIL_INO_BIT | ((uint64_t)i + 1);
	}
	if (reserve(g) < 0)
		return 0;
	b = msgid_hash(msgid) & (g->nbuckets - 1);
	g->v[g->n] = (struct gmail_ent){ .msgid = msgid, .next = g->buckets[b] };
	seen_at(&g->v[g->n], node, uid);
	g->buckets[b] = (uint32_t)g->n + 1;
	g->n++;
	return GMAIL_INO_BIT | (uint64_t)g->n;
}

uint64_t gmail_msgid(const struct gmail *g, uint64_t ino)
{
	uint64_t i = ino & ~GMAIL_INO_BIT;

	if (!gmail_ino_is(ino) || i == 0 || i > g->n)
		return 0;
	return g->v[i - 1].msgid;
}

/* A hash of every folder's (gen, loaded, hidden) and the hierarchy's gen:
 * it changes whenever any folder's messages or the hierarchy do, so a
 * failed search need not be repeated while it stays the same (a collision
 * costs one missed search: about 2^-64). O(folders), not O(messages). */
static uint64_t state_of(const struct tree *t)
{
	uint64_t h = msgid_hash(t->gen ^ t->n);

	for (size_t n = 1; n < t->n; n++) {
		const struct tree_node *nd = &t->nodes[n];

		h = msgid_hash(h ^ (nd->gen * 4 + (nd->state == TREE_READY) * 2 + nd->hidden)) + n;
	}
	return h;
}

int gmail_locate(struct gmail *g, struct tree *t, uint64_t ino, uint32_t *node, uint32_t *uid)
{
	uint64_t i = ino & ~GMAIL_INO_BIT;
	struct gmail_ent *e;
	long cand[GMAIL_PLACES + 3];
	uint64_t state;

	if (!gmail_ino_is(ino) || i == 0 || i > g->n)
		return -ENOENT;
	e = &g->v[i - 1];
	/* where it was seen last, then its other places */
	for (int j = 0; j < GMAIL_PLACES; j++) {
		int k = (e->last + GMAIL_PLACES - j) % GMAIL_PLACES;

		if (e->node[k] != 0 && still_there(t, e->node[k], e->uid[k], e->msgid)) {
			e->last = (uint8_t)k;
			goto found;
		}
	}
	/* moved or gone in all of them: any loaded folder that shows it
	 * will do (rare: it left every folder it was seen in; and not
	 * searched again while no folder changed since it was not found) */
	state = state_of(t) + 1;
	for (size_t n = 1; e->missed != state && n < t->n; n++) {
		const struct tree_node *nd = &t->nodes[n];

		if (nd->hidden || nd->state != TREE_READY)
			continue;
		for (size_t k = 0; k < nd->nmsgs; k++) {
			if (nd->msgs[k].gm_msgid == e->msgid) {
				seen_at(e, (uint32_t)n, nd->msgs[k].uid);
				goto found;
			}
		}
	}
	e->missed = state;
	/* not in any loaded folder: load a place it was seen in, else the
	 * folders that hold every message (All Mail, the bins), one by one */
	for (int j = 0; j < GMAIL_PLACES; j++)
		cand[j] = e->node[(e->last + GMAIL_PLACES - j) % GMAIL_PLACES];
	cand[GMAIL_PLACES] = gmail_special(g, t, GMAIL_ALL);
	cand[GMAIL_PLACES + 1] = g->spec[GMAIL_TRASH];
	cand[GMAIL_PLACES + 2] = g->spec[GMAIL_SPAM];
	for (int k = 0; k < GMAIL_PLACES + 3; k++) {
		if (cand[k] > 0 && (size_t)cand[k] < t->n && !t->nodes[cand[k]].hidden &&
		    t->nodes[cand[k]].selectable && t->nodes[cand[k]].state != TREE_READY) {
			*node = (uint32_t)cand[k];
			return -EAGAIN;
		}
	}
	return -ENOENT;
found:
	*node = e->node[e->last];
	*uid = e->uid[e->last];
	return 0;
}

/* Is WORD one of the space-separated ATTRS (any case)? */
static bool has_attr(const char *attrs, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = attrs; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n == wl && strncasecmp(p, word, n) == 0)
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

/* The special folders, looked for again after any change to the
 * hierarchy (one scan per change, not per message). */
static void spec_update(struct gmail *g, const struct tree *t)
{
	if (g->spec_valid && g->spec_gen == t->gen)
		return;
	for (int k = 0; k < GMAIL_NSPEC; k++)
		g->spec[k] = -1;
	for (size_t i = 1; i < t->n; i++) {
		const struct tree_node *nd = &t->nodes[i];

		if (nd->hidden || !nd->selectable)
			continue;
		for (int k = 0; k < GMAIL_NSPEC; k++)
			if (g->spec[k] < 0 && gmail_spec[k].attr != NULL && has_attr(nd->attrs, gmail_spec[k].attr))
				g->spec[k] = (long)i;
	}
	g->spec[GMAIL_INBOX] = tree_find_raw(t, "INBOX");
	g->spec_gen = t->gen;
	g->spec_valid = true;
}

long gmail_special(struct gmail *g, const struct tree *t, int which)
{
	spec_update(g, t);
	return g->spec[which];
}

long gmail_label_node(struct gmail *g, const struct tree *t, const char *label, size_t len)
{
	char buf[1024];
	long n;

	spec_update(g, t);
	if (len > 0 && label[0] == '\\') {
		for (int k = 0; k < GMAIL_NSPEC; k++)
			if (gmail_spec[k].label != NULL && strlen(gmail_spec[k].label) == len &&
			    strncasecmp(gmail_spec[k].label, label, len) == 0)
				return g->spec[k];
		return -1;
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, label, len);
	buf[len] = '\0';
	n = tree_find_raw(t, buf);
	return n >= 0 && t->nodes[n].selectable ? n : -1;
}

const char *gmail_folder_label(struct gmail *g, const struct tree *t, uint32_t node)
{
	spec_update(g, t);
	for (int k = 0; k < GMAIL_NSPEC; k++)
		if (g->spec[k] == (long)node)
			return gmail_spec[k].label;
	return t->nodes[node].mailbox;
}

/* The first item of RAW equal to LABEL (system labels in any case), or
 * NULL; *LEN its length. */
static char *labels_find(const char *raw, const char *label, size_t *len)
{
	size_t ll = strlen(label);

	for (const char *p = raw; p != NULL && *p != '\0';) {
		*len = strcspn(p, "\n");
		if (*len == ll && (label[0] == '\\' ? strncasecmp(p, label, ll) : strncmp(p, label, ll)) == 0)
			return (char *)p;
		p += *len;
		if (*p == '\n')
			p++;
	}
	return NULL;
}

bool gmail_labels_has(const char *raw, const char *label)
{
	size_t len;

	return labels_find(raw, label, &len) != NULL;
}

void gmail_labels_remove(char *raw, const char *label)
{
	size_t len;
	char *p;

	while ((p = labels_find(raw, label, &len)) != NULL) {
		if (p[len] == '\n')
			len++;		/* "a\nX\nb" -> "a\nb" */
		else if (p > raw)
			p--, len++;	/* "a\nX" -> "a" */
		memmove(p, p + len, strlen(p + len) + 1);
	}
}

/* LABELS with every item equal to FROM, or under it (FROM DELIM ...),
 * renamed to TO: a new malloc'd string, or NULL when none is (or out of
 * memory: the labels then stay as they were). */
static char *labels_renamed(const char *labels, const char *from, const char *to, char delim)
{
	size_t fl = strlen(from), n = 0;
	char *out;
	bool any = false;

	out = malloc(strlen(labels) + 1 + (strlen(to) + 1) * (strlen(labels) / (fl ? fl : 1) + 1));
	if (out == NULL)
		return NULL;
	for (const char *p = labels; *p != '\0';) {
		size_t len = strcspn(p, "\n");

		if (n > 0)
			out[n++] = '\n';
		if (len >= fl && strncmp(p, from, fl) == 0 &&
		    (len == fl || (delim != '\0' && p[fl] == delim))) {
			memcpy(out + n, to, strlen(to));
			n += strlen(to);
			memcpy(out + n, p + fl, len - fl);
			n += len - fl;
			any = true;
		} else {
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	out[n] = '\0';
	if (!any) {
		free(out);
		return NULL;
	}
	return out;
}

void gmail_label_renamed(struct tree *t, const char *from, const char *to, char delim)
{
	for (size_t i = 1; i < t->n; i++) {
		struct tree_node *nd = &t->nodes[i];

		for (size_t k = 0; nd->state == TREE_READY && k < nd->nmsgs; k++) {
			char *nl;

			if (nd->msgs[k].gm_labels == NULL ||
			    (nl = labels_renamed(nd->msgs[k].gm_labels, from, to, delim)) == NULL)
				continue;
			free(nd->msgs[k].gm_labels);
			nd->msgs[k].gm_labels = nl;
		}
	}
}

/* Calls FN(ARG, node) for each shown folder a label of LABELS names. */
static void each_label_node(struct gmail *g, const struct tree *t, const char *labels,
			    void (*fn)(void *arg, long node), void *arg)
{
	for (const char *p = labels; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, "\n");

		fn(arg, gmail_label_node(g, t, p, len));
		p += len;
		if (*p == '\n')
			p++;
	}
}

struct nlink_acc {
	const struct gmail *g;
	long node, all;
	bool binned, count;
	nlink_t n;
};

static void nlink_step(void *arg, long f)
{
	struct nlink_acc *a = arg;
	bool bin = f >= 0 && (f == a->g->spec[GMAIL_TRASH] || f == a->g->spec[GMAIL_SPAM]);

	if (!a->count)
		a->binned |= bin;
	/* a message in Trash or Spam shows there only, as Gmail does */
	else if (f >= 0 && f != a->node && f != a->all && (bin || !a->binned))
		a->n++;
}

nlink_t gmail_nlink(struct gmail *g, const struct tree *t, uint32_t node, const struct tree_msg *m)
{
	struct nlink_acc a = { .g = g, .node = (long)node, .all = gmail_special(g, t, GMAIL_ALL), .n = 1 };

	a.binned = a.node == g->spec[GMAIL_TRASH] || a.node == g->spec[GMAIL_SPAM];
	each_label_node(g, t, m->gm_labels, nlink_step, &a);
	a.count = true;
	each_label_node(g, t, m->gm_labels, nlink_step, &a);
	if (a.all >= 0 && a.node != a.all && !a.binned)
		a.n++;
	return a.n;
}

/* ---- user.imap.labels ---------------------------------------------------- */

/* Is LABEL one of Gmail's system labels (any case)? */
static bool system_label(const char *label)
{
	static const char *const more[] = { "\\Draft", "\\Muted" };

	for (int k = 0; k < GMAIL_NSPEC; k++)
		if (gmail_spec[k].label != NULL && strcasecmp(label, gmail_spec[k].label) == 0)
			return true;
	for (size_t k = 0; k < sizeof(more) / sizeof(more[0]); k++)
		if (strcasecmp(label, more[k]) == 0)
			return true;
	return false;
}

/* Quoted when the parser would read it otherwise: empty, a sign or quote
 * first, a blank anywhere (leading and trailing ones too), a '"' or '\\'
 * after the first byte, or a '\\' first that is not a system label (an
 * unquoted \Name is written back as a system label). */
static bool needs_quotes(const char *s)
{
	if (*s == '\0' || *s == '+' || *s == '-' || *s == '"' || *s == ' ' || *s == '\t')
		return true;
	if (*s == '\\' && !system_label(s))
		return true;
	for (const char *p = s + 1; *p != '\0'; p++)
		if (*p == ' ' || *p == '\t' || *p == '"' || *p == '\\')
			return true;
	return false;
}

int gmail_labels_format(const char *raw, char **out, size_t *len)
{
	size_t cap = 64, n = 0;
	char *buf = malloc(cap);

	if (buf == NULL)
		return -ENOMEM;
	for (const char *p = raw; p != NULL && *p != '\0';) {
		size_t l = strcspn(p, "\n");
		char *one = strndup(p, l), *shown = NULL;
		const char *s;

		if (one == NULL) {
			free(buf);
			return -ENOMEM;
		}
		if (one[0] != '\\' && mutf7_decode(one, &shown) < 0)
			shown = NULL;
		s = shown != NULL ? shown : one;	/* not valid modified UTF-7: as sent */
		/* worst case: every byte escaped, two quotes, a space, the NUL */
		if (n + 2 * strlen(s) + 4 > cap) {
			char *nb;

			while (n + 2 * strlen(s) + 4 > cap)
				cap *= 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(one);
				free(shown);
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		if (n > 0)
			buf[n++] = ' ';
		if (needs_quotes(s)) {
			buf[n++] = '"';
			for (const char *q = s; *q != '\0'; q++) {
				if (*q == '"' || *q == '\\')
					buf[n++] = '\\';
				buf[n++] = *q;
			}
			buf[n++] = '"';
		} else {
			memcpy(buf + n, s, strlen(s));
			n += strlen(s);
		}
		free(one);
		free(shown);
		p += l;
		if (*p == '\n')
			p++;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Append LABEL (UTF-8, or, written unquoted (QUOTED false), a \System
 * label as is) to the '\n'-joined *LIST in modified UTF-7. */
static int list_add(char **list, const char *label, bool quoted)
{
	char *enc = NULL, *nl;
	size_t old = *list ? strlen(*list) : 0;
	int rc;

	if (label[0] == '\\' && !quoted) {
		enc = strdup(label);
		rc = enc ? 0 : -ENOMEM;
	} else {
		rc = mutf7_encode(label, &enc);
	}
	if (rc < 0)
		return rc;
	nl = realloc(*list, old + strlen(enc) + 2);
	if (nl == NULL) {
		free(enc);
		return -ENOMEM;
	}
	if (old > 0)
		nl[old++] = '\n';
	memcpy(nl + old, enc, strlen(enc) + 1);
	*list = nl;
	free(enc);
	return 0;
}

int gmail_labels_parse(const char *val, size_t len, bool *replace, char **add, char **del)
{
	size_t i = 0;
	bool plain = false, sign = false;
	char *tok = malloc(len + 1);
	int rc = 0;

	*add = *del = NULL;
	*replace = false;
	if (tok == NULL)
		return -ENOMEM;
	while (len > 0 && (val[len - 1] == '\n' || val[len - 1] == '\0'))
		len--;	/* echo and setfattr add these */
	while (rc == 0 && i < len) {
		char s = 0;
		size_t n = 0;
		bool quoted = false;

		if (val[i] == ' ' || val[i] == '\t') {
			i++;
			continue;
		}
		if (val[i] == '+' || val[i] == '-')
			s = val[i++];
		if (i < len && val[i] == '"') {
			quoted = true;
			for (i++; i < len && val[i] != '"'; i++) {
				if (val[i] == '\\' && i + 1 < len)
					i++;
				tok[n++] = val[i];
			}
			if (i >= len) {
				rc = -EINVAL;	/* no closing quote */
				break;
			}
			i++;
		} else {
			while (i < len && val[i] != ' ' && val[i] != '\t')
				tok[n++] = val[i++];
		}
		tok[n] = '\0';
		if (n == 0 || memchr(tok, '\0', n) != NULL || strpbrk(tok, "\r\n") != NULL) {
			rc = -EINVAL;
			break;
		}
		if (s != 0)
			sign = true;
		else
			plain = true;
		rc = list_add(s == '-' ? del : add, tok, quoted);
	}
	if (rc == 0 && plain && sign)
		rc = -EINVAL;	/* "A +B": replace or change? say so instead of guessing */
	free(tok);
	if (rc < 0) {
		free(*add);
		free(*del);
		*add = *del = NULL;
		return rc;
	}
	*replace = !sign;
	return 0;
}
