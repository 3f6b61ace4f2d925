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
#include "pool.h"
#include "session.h"

static bool keeps(const struct vfs *v)
{
	/* (a cache that fell back to memory keeps nothing: cache_acct_*) */
	return v->cache != NULL && v->cfg->cache != CONFIG_CACHE_NO && !v->gm.on;
}

static void account_id(const struct vfs *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s@%s:%d", v->url.user, v->url.host, v->url.port);
}

uint32_t vfs_acct_caps(const struct vfs *v)
{
	return (v->condstore ? ACCTSTATE_CONDSTORE : 0) | (v->uidplus ? ACCTSTATE_UIDPLUS : 0) |
	       (v->move ? ACCTSTATE_MOVE : 0) | (v->acl ? ACCTSTATE_ACL : 0) |
	       (v->qresync ? ACCTSTATE_QRESYNC : 0) | (v->namespace ? ACCTSTATE_NAMESPACE : 0) |
	       (v->unselect ? ACCTSTATE_UNSELECT : 0) | (v->sasl_ir ? ACCTSTATE_SASL_IR : 0);
}

/* The capabilities this mount would use on session S, as ACCTSTATE_*
 * bits (vfs_acct_caps reads them back from struct vfs). */
uint32_t vfs_acct_session_caps(const struct vfs *v, struct session *s)
{
	return (session_has_cap(s, "CONDSTORE") ? ACCTSTATE_CONDSTORE : 0) |
	       (session_has_cap(s, "UIDPLUS") ? ACCTSTATE_UIDPLUS : 0) |
	       (session_has_cap(s, "MOVE") ? ACCTSTATE_MOVE : 0) | (session_has_cap(s, "ACL") ? ACCTSTATE_ACL : 0) |
	       (session_qresync(s) ? ACCTSTATE_QRESYNC : 0) |
	       (session_has_cap(s, "NAMESPACE") ? ACCTSTATE_NAMESPACE : 0) |
	       (session_has_cap(s, "UNSELECT") ? ACCTSTATE_UNSELECT : 0) |
	       (v->cfg->auth != CONFIG_AUTH_LOGIN && session_has_cap(s, "SASL-IR") ? ACCTSTATE_SASL_IR : 0);
}

/* The capabilities whose loss changes what this mount does (SASL-IR only
 * shortens a login), with their names for the log. */
static const struct {
	uint32_t bit;
	const char *name;
} used_caps[] = {
	{ ACCTSTATE_CONDSTORE, "CONDSTORE" }, { ACCTSTATE_QRESYNC, "QRESYNC" },
	{ ACCTSTATE_UIDPLUS, "UIDPLUS" },     { ACCTSTATE_MOVE, "MOVE" },
	{ ACCTSTATE_ACL, "ACL" },	      { ACCTSTATE_NAMESPACE, "NAMESPACE" },
	{ ACCTSTATE_UNSELECT, "UNSELECT" },
};

/* An offline mount's first time back online: compare the capabilities
 * it was mounted with (kept) with the server's now. They are read
 * without a lock all over the vfs, so they are not changed: a lost one
 * refuses every change until a remount (a MOVE or UID EXPUNGE the server
 * no longer has must not be tried; the catch-up is skipped too, as its
 * commands rest on CONDSTORE/QRESYNC). 0 when the mount may go on as it
 * is, -ENETDOWN when no session could be had (checked next time), or
 * -EROFS. Any thread: the reconnect thread once back online, or
 * vfs_writable when that one could not tell. */
int vfs_acct_caps_check(struct vfs *v)
{
	uint32_t kept = vfs_acct_caps(v), now, lost;
	struct session *s;
	char names[160] = "";
	int rc, want, unchecked = VFS_CAPS_UNCHECKED;

	if (__atomic_load_n(&v->caps_state, __ATOMIC_SEQ_CST) != VFS_CAPS_UNCHECKED)
		return 0;
	rc = pool_checkout(v->pool, NULL, &s);
	if (rc < 0)
		return rc;
	now = vfs_acct_session_caps(v, s);
	pool_checkin(v->pool, s);
	lost = 0;
	for (size_t i = 0; i < sizeof(used_caps) / sizeof(used_caps[0]); i++) {
		if ((kept & used_caps[i].bit) && !(now & used_caps[i].bit)) {
			lost |= used_caps[i].bit;
			snprintf(names + strlen(names), sizeof(names) - strlen(names), " %s", used_caps[i].name);
		}
	}
	want = lost != 0 ? VFS_CAPS_LOST : VFS_CAPS_OK;
	/* (two threads may compare at once: one logs) */
	if (!__atomic_compare_exchange_n(&v->caps_state, &unchecked, want, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return __atomic_load_n(&v->caps_state, __ATOMIC_SEQ_CST) == VFS_CAPS_LOST ? -EROFS : 0;
	if (lost != 0) {
		log_err("back online, but the server no longer offers%s, which this mount was made with "
			"(from the cache): every change is refused (EROFS) until it is remounted", names);
		return -EROFS;
	}
	if (now != kept)
		log_info("back online: the server offers capabilities it did not when the account's state "
			 "was kept; they are used after a remount");
	return 0;
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
	/* capabilities the server no longer has are not kept for the next
	 * mount, which then takes them from the server */
	if (__atomic_load_n(&v->caps_state, __ATOMIC_SEQ_CST) == VFS_CAPS_LOST)
		return;
	account_id(v, account, sizeof(account));
	st.account = account;
	st.saved = (int64_t)time(NULL);
	st.caps = vfs_acct_caps(v);
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
