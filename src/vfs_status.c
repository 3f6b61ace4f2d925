/*
 * vfs_status — what `imapfs status MOUNTPOINT` prints, built inside the
 * running daemon and read through the read-only extended attribute
 * user.imapfs.status of the mount root (fs/ops.c routes it here). Plain
 * "key: value" lines so that scripts can grep them.
 *
 * Everything shown is either immutable after vfs_new (account, URL,
 * capabilities, options), an atomic counter (activity.h, the watchers'
 * state) or read under its owner's lock (pool_get_stats, pool_get_busy,
 * log_recent_errors); no network I/O happens here, so status answers even
 * while the server hangs. `imapfs status --watch` reads this text once a
 * second and diffs the "fetched:" line for rates: keep its form.
 *
 * "capabilities used" names a capability only where the code that depends
 * on it is active on this server, not merely advertised: QRESYNC once
 * ENABLEd (resync then asks UID FETCH ... VANISHED), IDLE and NOTIFY once
 * a watcher runs them (until then they are not in use yet).
 */
#include "log.h"
#include "activity.h"
#include "cache.h"
#include "prefetch.h"
#include "vfs_internal.h"
#include "vfs_watch.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int vfs_status(struct vfs *v, char **out, size_t *len)
{
	const struct config *cfg = v->cfg;
	struct pool_stats ps;
	char *buf = NULL, errs[1200], when[32];
	size_t blen = 0;
	unsigned long nerr;
	struct tm tm;
	time_t t = (time_t)v->mounted_at;
	FILE *f;

	f = open_memstream(&buf, &blen);
	if (f == NULL)
		return -ENOMEM;
	pool_get_stats(v->pool, &ps);
	nerr = log_recent_errors(errs, sizeof(errs));
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);

	fprintf(f, "account: %s\n", cfg->account ? cfg->account : "(none: mounted by URL)");
	fprintf(f, "server: imap%s://%s@%s:%d/ (%s)\n", v->url.tls == URL_TLS_IMPLICIT ? "s" : "",
		v->url.user, v->url.host, v->url.port,
		cfg->insecure_plaintext ? "no TLS: insecure_plaintext" :
		v->url.tls == URL_TLS_IMPLICIT ? "TLS" : "STARTTLS");
	fprintf(f, "login: %s\n", cfg->auth == CONFIG_AUTH_XOAUTH2 ? "XOAUTH2" :
		cfg->auth == CONFIG_AUTH_OAUTHBEARER ? "OAUTHBEARER" : "LOGIN");
	fprintf(f, "mounted: %s%s\n", when, cfg->ro ? " read-only" : "");
	{
		bool idle, notify;

		watch_caps(v, &idle, &notify);
		fprintf(f, "capabilities used:%s%s%s%s%s%s%s%s%s%s%s%s\n", v->uidplus ? " UIDPLUS" : "",
			v->move ? " MOVE" : "", v->condstore ? " CONDSTORE" : "", v->qresync ? " QRESYNC" : "",
			idle ? " IDLE" : "", notify ? " NOTIFY" : "", v->acl ? " ACL" : "",
			v->namespace ? " NAMESPACE" : "", v->unselect ? " UNSELECT" : "",
			v->append_limit < WIRE_LITERAL_MAX ? " APPENDLIMIT" : "", v->sasl_ir ? " SASL-IR" : "",
			v->gm.on ? " X-GM-EXT-1 (Gmail: one inode per message)" : "");
	}
	fprintf(f, "capabilities missing:%s%s%s%s%s\n", v->uidplus ? "" : " UIDPLUS (rm moves to Trash)",
		v->move ? "" : " MOVE (mv copies and expunges)", v->condstore ? "" : " CONDSTORE",
		v->acl ? "" : " ACL", v->uidplus && v->move && v->condstore && v->acl ? " none" : "");
	if (ps.offline)
		fprintf(f, "offline: the server cannot be reached; changes are refused (ENETDOWN) and "
			"connecting again in the background%s\n", v->offline_mount ? " (mounted from the cache)" : "");
	fprintf(f, "connections: %d open, %d busy, max %d", ps.open, ps.busy, ps.limit);
	if (ps.limit < ps.max)
		fprintf(f, " (max_conns=%d, lowered: the server refused more)", ps.max);
	fprintf(f, "; %lu opened since mount\n", ps.opened);
	{
		struct pool_busy *busy;
		int nb = pool_get_busy(v->pool, &busy);

		for (int i = 0; i < nb; i++)
			fprintf(f, "conn %d: %s\n", busy[i].id, busy[i].doing);
		free(busy);
	}
	{
		struct cache_stats cs;
		struct prefetch_stats pf;

		cache_get_stats(v->cache, &cs);
		prefetch_get_stats(v->prefetch, &pf);
		if (cs.disk)
			fprintf(f, "cache: %s\n", cs.dir);
		else
			fprintf(f, "cache: in memory only (%s)\n", cfg->cache == CONFIG_CACHE_NO ? "cache=no" :
				"the cache directory was unusable: see the log");
		fprintf(f, "cache use: %" PRIu64 " bodies, %.1f MiB of %.1f MiB; %" PRIu64 " hits, %" PRIu64
			" misses, %" PRIu64 " evicted, %" PRIu64 " damaged files refetched, %" PRIu64
			" changed on the server and refetched\n", cs.entries, cs.bytes / 1048576.0,
			cs.max / 1048576.0, cs.hits, cs.misses, cs.evicted, cs.damaged, cs.stale);
		if (pf.workers == 0)
			fprintf(f, "read-ahead: off (%s)\n", cfg->max_conns == 1 ? "max_conns=1" : "no threads");
		else
			fprintf(f, "read-ahead: %d threads, %d busy; %lu messages in %lu batches since mount "
				"(%lu for readers in no order; %d folder%s being read in no order)\n", pf.workers, pf.busy,
				pf.queued, pf.batches, pf.swept, pf.sweeping, pf.sweeping == 1 ? "" : "s");
		fprintf(f, "read-ahead queue: %lu messages\n", pf.waiting);
	}
	{
		struct activity_stats as;

		activity_get(&as);
		fprintf(f, "fetched: %" PRIu64 " messages, %" PRIu64 " bytes since mount\n", as.msgs, as.bytes);
	}
	{
		uint64_t ln = __atomic_load_n(&v->watch_list_n, __ATOMIC_RELAXED);
		uint64_t cmp = __atomic_load_n(&v->watch_compare_ns, __ATOMIC_RELAXED);
		uint64_t held = __atomic_load_n(&v->watch_lock_ns_max, __ATOMIC_RELAXED);
		uint64_t cpu = __atomic_load_n(&v->watch_lock_cpu_ns_max, __ATOMIC_RELAXED);

		if (ln == 0)
			fprintf(f, "mailbox list: not compared with the server yet\n");
		else
			fprintf(f, "mailbox list: %" PRIu64 " mailboxes in the last LIST, compared in %.3f ms; "
				"the comparison held the tree lock for %.3f ms at most since mount "
				"(%.3f ms of CPU at most)\n", ln, cmp / 1e6, held / 1e6, cpu / 1e6);
	}
	watch_describe(v, f);
	{
		char where[PATH_MAX + 80];

		log_destination(where, sizeof(where));
		fprintf(f, "log: %s\n", where);
	}
	fprintf(f, "errors: %lu since mount\n", nerr);
	if (nerr == 0) {
		fprintf(f, "last error: none\n");
	} else {
		char *line = errs, *nl;

		/* oldest first in the ring; "last error" is the newest */
		while ((nl = strchr(line, '\n')) != NULL && nl[1] != '\0')
			line = nl + 1;
		fprintf(f, "last error: %s", line);
		if (nerr > 1)
			fprintf(f, "recent errors:\n%s", errs);
	}
	if (fclose(f) != 0 || buf == NULL) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = blen;
	return 0;
}
