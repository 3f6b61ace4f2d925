/*
 * vfs_acct — the account's state kept across mounts (see vfs_acct.h).
 */
#include "vfs_acct.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "log.h"

static bool keeps(const struct vfs *v)
{
	/* (a cache that fell back to memory keeps nothing: cache_acct_*) */
	return v->cache != NULL && v->cfg->cache != CONFIG_CACHE_NO && !v->gm.on;
}

static void account_id(const struct vfs *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s@%s:%d", v->url.user, v->url.host, v->url.port);
}

static uint32_t caps_of(const struct vfs *v)
{
	return (v->condstore ? ACCTSTATE_CONDSTORE : 0) | (v->uidplus ? ACCTSTATE_UIDPLUS : 0) |
	       (v->move ? ACCTSTATE_MOVE : 0) | (v->acl ? ACCTSTATE_ACL : 0) |
	       (v->qresync ? ACCTSTATE_QRESYNC : 0) | (v->namespace ? ACCTSTATE_NAMESPACE : 0) |
	       (v->unselect ? ACCTSTATE_UNSELECT : 0) | (v->sasl_ir ? ACCTSTATE_SASL_IR : 0);
}

/* The tree's mailboxes the server listed (hidden by -o subscribed too:
 * they exist; not those rmdir removed), borrowing the tree's strings:
 * valid while tree.lock is held. */
static int boxes_of(const struct tree *t, struct acctstate_box **out, size_t *n)
{
	struct acctstate_box *b = calloc(t->n, sizeof(*b));
	size_t k = 0;

	if (b == NULL)
		return -ENOMEM;
	for (size_t i = 1; i < t->n; i++) {
		const struct tree_node *nd = &t->nodes[i];

		if (!nd->listed || nd->mailbox == NULL || nd->mailbox[0] == '\0' || (nd->hidden && !nd->filtered))
			continue;
		b[k].name = nd->mailbox;
		b[k].delim = nd->delim;
		b[k].attrs = nd->attrs;
		b[k].bits = (uint8_t)((nd->selectable ? 0 : ACCTSTATE_BOX_NOSELECT) |
				      (nd->subscribed ? ACCTSTATE_BOX_SUBSCRIBED : 0));
		k++;
	}
	*out = b;
	*n = k;
	return 0;
}

void vfs_acct_keep(struct vfs *v)
{
	struct tree *t = &v->tree;
	struct acctstate st = { 0 };
	char account[1024], *buf = NULL;
	size_t len = 0, skipped = 0;
	uint64_t gen;
	bool tell;
	int rc = -EALREADY;

	if (!keeps(v) || !__atomic_load_n(&v->tree_live, __ATOMIC_SEQ_CST))
		return;
	account_id(v, account, sizeof(account));
	st.account = account;
	st.saved = (int64_t)time(NULL);
	st.caps = caps_of(v);
	st.append_limit = v->append_limit;
	st.personal_delim = v->personal_delim;
	st.nns = v->nns < ACCTSTATE_NS_MAX ? v->nns : ACCTSTATE_NS_MAX;
	for (int i = 0; i < st.nns; i++)
		st.ns_prefix[i] = v->ns_prefix[i];
	/* encoded under the lock (a copy of the picture of now), written
	 * without it */
	pthread_mutex_lock(&t->lock);
	gen = t->gen;
	if (!v->acct_kept || v->acct_kept_gen != gen) {
		rc = boxes_of(t, &st.boxes, &st.nboxes);
		if (rc == 0)
			rc = acctstate_encode(&st, &buf, &len, &skipped);
	}
	/* once per mount, not at every LIST that changed the tree */
	tell = (skipped > 0 || rc == -EINVAL) && !v->acct_odd_told;
	v->acct_odd_told = v->acct_odd_told || tell;
	pthread_mutex_unlock(&t->lock);
	if (tell && rc == -EINVAL)
		log_warn("cache: the account's state is not kept: the server's hierarchy delimiter is a "
			 "line break (a mount offline will not be possible)");
	else if (tell)
		log_warn("cache: %zu mailbox name(s) or namespace prefix(es) hold a line break; left out of "
			 "the account's state (not shown when mounted offline)", skipped);
	free(st.boxes);
	if (rc == 0)
		rc = cache_acct_put(v->cache, buf, len);
	if (rc == 0) {
		pthread_mutex_lock(&t->lock);
		v->acct_kept = true;
		v->acct_kept_gen = gen;
		pthread_mutex_unlock(&t->lock);
		log_debug("cache: kept the account's state (%zu mailboxes)", st.nboxes);
	} else if (rc == -ENOMEM) {
		log_warn("cache: cannot keep the account's state: out of memory");
	}
	free(buf);
}

int vfs_acct_read(struct vfs *v, struct acctstate *s)
{
	char account[1024], *buf = NULL;
	size_t len = 0;
	int rc;

	*s = (struct acctstate){ 0 };
	if (!keeps(v))
		return -ENOENT;
	rc = cache_acct_get(v->cache, &buf, &len);
	if (rc < 0)
		return -ENOENT;
	account_id(v, account, sizeof(account));
	rc = acctstate_decode(buf, len, account, s);
	free(buf);
	if (rc == -EBADMSG) {
		log_warn("cache: the kept state of the account is damaged or not its own; removed");
		cache_acct_drop(v->cache);
	}
	return rc < 0 ? -ENOENT : 0;
}
