/*
 * pool — up to max_conns IMAP sessions shared by the FUSE worker threads.
 *
 * A thread checks a session out, uses it alone (libetpan sessions are not
 * thread-safe), and checks it back in. Checkout prefers an idle session
 * that already has the wanted mailbox selected (no SELECT churn), then any
 * idle session, then opens a new one while under the limit, else waits.
 * Connecting happens outside the lock. A broken session is closed at
 * checkin and its slot freed, so the next checkout reconnects. A connect
 * that fails on the way (reset, timeout, TLS handshake cut) is tried again
 * with backoff until the attempt's deadline (deadline.h). When the server
 * itself refuses another connection (BYE, login refused) the pool lowers
 * its limit to what it has rather than failing, and tries the configured
 * number again a minute later (the refusal may have been passing).
 *
 * Each checkout starts an attempt (deadline_attempt) on the calling thread;
 * checkin ends it.
 *
 * Offline (issue 17, imapfs.1 "OFFLINE"): when the server cannot be
 * reached (pool_unreachable: refused, unreachable, timed out, no such
 * host) the pool is offline: it started so (pool_new with no session:
 * the mount was made from the cache), or a checkout's connect failed so
 * until its attempt's deadline. While offline every checkout fails at
 * once with -ENETDOWN, instead of each file operation waiting for a
 * connect deadline of its own, and the pool's reconnect thread tries to
 * connect, 1 s after going offline and then doubling to 30 s (15 min
 * after the server refused the login or the TLS handshake: retrying a
 * bad password every 30 s could lock the account); the first session it
 * opens makes the pool online again, and the ONLINE callback given to
 * pool_new is called on that thread (no lock held) so the caller can
 * catch up with what changed meanwhile. Each time back online starts a
 * new epoch: a connect begun before it that fails does not send the pool
 * offline again.
 *
 * pool.lock is never held across network I/O; the one call into another
 * module under it is session_describe (pool_busy), which takes the
 * session's doing_lock. Its place in the lock order: src/README.md,
 * "Lock order".
 *
 * Ownership: pool_new takes a first, already-open session, or NULL (then
 * the pool starts offline, and pool_start starts its reconnect thread).
 * pool_shutdown stops the reconnect thread without waiting for a connect
 * under way; pool_free waits for it (at most the timeout), then closes
 * all sessions; no session may be checked out then.
 */
#ifndef IMAPFS_POOL_H
#define IMAPFS_POOL_H

#include "session.h"

struct pool;

/* ONLINE(CTX) runs on the reconnect thread each time the pool is back
 * online; may be NULL. */
int pool_new(const struct session_params *p, int max_conns, struct session *first,
	     void (*online)(void *ctx), void *ctx, struct pool **out);
void pool_free(struct pool *pool);

/* session_open failed because the server could not be reached
 * (SESSION_ERR_UNREACHABLE: the TCP connect refused, unreachable, timed
 * out, no such host, or no greeting within the timeout), not because of
 * TLS, the login, the server's answer or a connection cut once made. */
bool pool_unreachable(int rc, enum session_err cls);
/* session_open failed because the server refused the login, or TLS
 * failed for good (a certificate that does not verify; not a handshake
 * cut or timed out): whoever connects again by itself (the reconnect
 * thread, the watcher) waits POOL_REFUSED_MS before the next try, since
 * trying a wrong password every few seconds could lock the account. */
bool pool_refused_login(int rc, enum session_err cls);
#define POOL_REFUSED_MS (15 * 60 * 1000)

/* After the daemon detached: start the reconnect thread when the pool
 * started offline (a thread started before the fork would be lost). */
void pool_start(struct pool *pool);
/* Whether the pool is offline now (a snapshot). */
bool pool_offline(struct pool *pool);

/* 0 and a session in *OUT, or -errno (connection failures, ETIMEDOUT;
 * -ENETDOWN while offline). WANT may be NULL. */
int pool_checkout(struct pool *pool, const char *want, struct session **out);
void pool_checkin(struct pool *pool, struct session *s);

/* Unmount in progress: interrupt every checked-out session's blocked
 * I/O, refuse every checkout from now on (-ESHUTDOWN), and stop the
 * reconnect thread, waiting for its ONLINE callback but not for a
 * connect under way (pool_free does). The sessions stay open until
 * pool_free. */
void pool_shutdown(struct pool *pool);

/* A consistent snapshot for `imapfs status`, taken under pool.lock. */
struct pool_stats {
	int open;		/* sessions open or being opened */
	int busy;		/* of those, checked out right now */
	int limit;		/* current limit (max_conns, or lower if the server capped us) */
	int max;		/* max_conns as configured */
	unsigned long opened;	/* sessions opened since mount, the first included */
	bool offline;		/* the server cannot be reached (see above) */
};
void pool_get_stats(struct pool *pool, struct pool_stats *out);

/* The checked-out sessions and what each is doing (session_describe), by
 * session id: a malloc'd array in *OUT (the caller frees it), returns how
 * many, or -ENOMEM. Taken under pool.lock; no I/O. */
struct pool_busy {
	int id;			/* the session's number, as in the log (imap[N]) */
	char doing[256];
};
int pool_get_busy(struct pool *pool, struct pool_busy **out);

#endif
