/*
 * pool — a bounded set of IMAP sessions with checkout/checkin, and the
 * reconnect thread of its offline state (see pool.h).
 */
#include "pool.h"
#include "deadline.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pool {
	const struct session_params *params;	/* immutable, owned by the caller */
	pthread_mutex_t lock;
	pthread_cond_t freed;			/* signalled on checkin / slot release */
	/* all below guarded by lock */
	int limit;				/* current max sessions (may shrink) */
	time_t lowered_at;			/* when limit was last lowered */
	int count;				/* open + being opened */
	int next_id;
	struct session **idle;			/* idle sessions, [0, nidle) */
	int nidle;
	struct session **busy;			/* checked-out sessions, for shutdown */
	int nbusy;
	bool shutting_down;
	int max;				/* max_conns as configured; immutable */
	unsigned long opened;			/* sessions opened, for status */
	bool offline;				/* the server cannot be reached (pool.h) */
	pthread_cond_t wake;			/* for the reconnect thread: offline, or shutting down */
	pthread_t reconnect;			/* when started (lock) */
	bool started;				/* lock; joined at shutdown */
	bool connecting;			/* lock: it is connecting (its loop, or a
						 * checkout of its ONLINE callback) */
	unsigned long epoch;			/* lock: times it got back online; a
						 * connect begun in an older one does not
						 * send the pool offline */
	bool joined;				/* the caller's thread only (shutdown, free) */
	void (*online)(void *ctx);		/* immutable */
	void *online_ctx;			/* immutable */
};

#define POOL_RETRY_SECS 60	/* a lowered limit is raised again after this */
#define POOL_BACKOFF_MIN_MS 100	/* first pause before connecting again */
#define POOL_BACKOFF_MAX_MS 2000
#define POOL_OFFLINE_MIN_MS 1000	/* offline: first connect after this, */
#define POOL_OFFLINE_MAX_MS 30000	/* doubling up to this */

/* The server itself said no (BYE greeting, login refused): it may cap
 * connections per user, so the pool lives with fewer. A reset, a timeout or
 * a failed TLS handshake says nothing about a cap. */
static bool pool_refusal(enum session_err cls)
{
	return cls == SESSION_ERR_REFUSED || cls == SESSION_ERR_AUTH;
}

/* Worth connecting again within the attempt's deadline: the network or the
 * TLS transport failed (reset, refused, timed out), not the certificate,
 * the configuration or the server's answer. */
static bool pool_transient(int rc, enum session_err cls)
{
	if (cls != SESSION_ERR_UNREACHABLE && cls != SESSION_ERR_CONNECT && cls != SESSION_ERR_TLS)
		return false;
	return rc != -EPERM && rc != -EPROTO && rc != -EINVAL && rc != -ENOMEM && rc != -EACCES;
}

bool pool_refused_login(int rc, enum session_err cls)
{
	return cls == SESSION_ERR_AUTH || (cls == SESSION_ERR_TLS && !pool_transient(rc, cls));
}

bool pool_unreachable(int rc, enum session_err cls)
{
	/* only session_open knows whether the server was reached: a cut
	 * during the login (a server's penalty for a bad password, say)
	 * is SESSION_ERR_CONNECT, and must not make the mount offline */
	if (cls != SESSION_ERR_UNREACHABLE)
		return false;
	/* (tcp.c reports a name that does not resolve as EHOSTUNREACH) */
	return rc == -ECONNREFUSED || rc == -EHOSTUNREACH || rc == -ENETUNREACH || rc == -ENETDOWN ||
	       rc == -EHOSTDOWN || rc == -ETIMEDOUT;
}

static void pool_sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Open session ID, connecting again with backoff (100 ms, doubling to 2 s)
 * while the failure is transient and the attempt's deadline leaves room,
 * so that one reset connection or handshake costs no error. The last
 * try's own rc and *CLS are returned (the caller tells an expired
 * deadline by deadline_left_ms), so that what failed decides whether the
 * server is unreachable, not that the deadline ran out. */
static int pool_connect(struct pool *pool, int id, struct session **s, enum session_err *cls,
			char *err, unsigned errlen)
{
	int64_t delay = POOL_BACKOFF_MIN_MS, left;
	int rc;

	for (;;) {
		rc = session_open(pool->params, id, s, cls, err, errlen);
		if (rc == 0 || !pool_transient(rc, *cls))
			return rc;
		left = deadline_left_ms();
		if (left <= delay)
			return rc;	/* no room left, or no deadline to bound the retries */
		pthread_mutex_lock(&pool->lock);
		if (pool->shutting_down) {
			pthread_mutex_unlock(&pool->lock);
			return rc;
		}
		pthread_mutex_unlock(&pool->lock);
		log_info("cannot open IMAP connection %d (%s); trying again in %lld ms", id, err,
			 (long long)delay);
		pool_sleep_ms(delay);
		if (delay < POOL_BACKOFF_MAX_MS)
			delay *= 2;
	}
}

/* Wait MS on pool->wake unless shutting down. Lock held. */
static void pool_wait_ms(struct pool *pool, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!pool->shutting_down && pthread_cond_timedwait(&pool->wake, &pool->lock, &ts) == 0)
		;
}

/* The reconnect thread: sleeps until the pool goes offline, then
 * connects with backoff until a session opens (the pool is online
 * again) or the pool shuts down. */
static void *pool_reconnect_main(void *arg)
{
	struct pool *pool = arg;
	int64_t delay = POOL_OFFLINE_MIN_MS;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		struct session *s = NULL;
		enum session_err cls;
		char err[256];
		int id, rc;

		while (!pool->offline && !pool->shutting_down) {
			delay = POOL_OFFLINE_MIN_MS;
			pthread_cond_wait(&pool->wake, &pool->lock);
		}
		pool_wait_ms(pool, delay);
		if (pool->shutting_down)
			break;
		pool->count++;	/* its slot, as a checkout's connect takes one */
		id = pool->next_id++;
		pool->connecting = true;
		pthread_mutex_unlock(&pool->lock);

		deadline_attempt(pool->params->cfg->timeout);
		rc = session_open(pool->params, id, &s, &cls, err, sizeof(err));
		deadline_attempt_end();

		pthread_mutex_lock(&pool->lock);
		pool->connecting = false;
		if (rc < 0 || pool->shutting_down) {
			pool->count--;
			if (rc == 0) {
				pthread_mutex_unlock(&pool->lock);
				session_close(s);
				pthread_mutex_lock(&pool->lock);
				break;
			}
			if (pool_refused_login(rc, cls)) {
				/* the server answered but said no (a changed
				 * password, a certificate): trying every 30 s
				 * could lock the account, so rarely, and loudly */
				delay = POOL_REFUSED_MS;
				log_warn("offline: the server refused the connection (%s); trying again in "
					 "%lld min (remount to try at once)", err, (long long)(delay / 60000));
				continue;
			}
			delay = delay * 2 < POOL_OFFLINE_MAX_MS ? delay * 2 : POOL_OFFLINE_MAX_MS;
			log_msg(pool_unreachable(rc, cls) ? LOG_INFO : LOG_WARNING,
				"offline: still cannot connect (%s); trying again in %lld s", err,
				(long long)(delay / 1000));
			continue;
		}
		pool->idle[pool->nidle++] = s;
		pool->opened++;
		pool->offline = false;
		pool->epoch++;
		delay = POOL_OFFLINE_MIN_MS;
		pthread_cond_broadcast(&pool->freed);
		pthread_mutex_unlock(&pool->lock);
		log_warn("the server can be reached again: back online");
		if (pool->online != NULL)
			pool->online(pool->online_ctx);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

int pool_new(const struct session_params *p, int max_conns, struct session *first,
	     void (*online)(void *ctx), void *ctx, struct pool **out)
{
	struct pool *pool = calloc(1, sizeof(*pool));
	pthread_condattr_t ca;
	int rc = -ENOMEM;

	if (pool == NULL)
		return -ENOMEM;
	pool->idle = calloc((size_t)max_conns, sizeof(*pool->idle));
	pool->busy = calloc((size_t)max_conns, sizeof(*pool->busy));
	if (pool->idle == NULL || pool->busy == NULL)
		goto out_free;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);	/* a clock set back must not stall it */
	pthread_cond_init(&pool->wake, &ca);
	pthread_condattr_destroy(&ca);
	pool->params = p;
	pool->limit = max_conns;
	pool->max = max_conns;
	pool->online = online;
	pool->online_ctx = ctx;
	if (first != NULL) {
		pool->opened = 1;
		pool->next_id = session_id(first) + 1;
		pool->idle[pool->nidle++] = first;
		pool->count = 1;
	} else {
		pool->next_id = 1;
		pool->offline = true;
	}
	*out = pool;
	return 0;
out_free:
	free(pool->idle);
	free(pool->busy);
	free(pool);
	return rc;
}

/* Start the reconnect thread unless it runs. Lock held. Not before the
 * daemon detached: a thread started before the fork would be lost (so
 * not in pool_new; pool_start, or going offline, does it). */
static void pool_reconnect_start(struct pool *pool)
{
	int rc;

	if (pool->started || pool->shutting_down)
		return;
	rc = pthread_create(&pool->reconnect, NULL, pool_reconnect_main, pool);
	if (rc != 0)
		log_err("cannot start the reconnect thread: %s; remount once the server is back", strerror(rc));
	pool->started = rc == 0;
}

void pool_start(struct pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->offline)
		pool_reconnect_start(pool);
	pthread_mutex_unlock(&pool->lock);
}

/* Stop the reconnect thread and wait for it: an ONLINE callback under
 * way ends soon (every checkout is refused now), so it is waited for;
 * a connect under way (its own, or its callback's checkout) only with
 * WAIT_CONNECT (pool_free), since it may take the whole timeout and the
 * unmount need not wait for it (the thread calls nothing once it sees
 * the shutdown; the callback's checkout then fails with ESHUTDOWN). The
 * caller's thread only. */
static void pool_reconnect_stop(struct pool *pool, bool wait_connect)
{
	bool join;

	pthread_mutex_lock(&pool->lock);
	pool->shutting_down = true;
	pthread_cond_broadcast(&pool->wake);
	join = pool->started && !pool->joined && (wait_connect || !pool->connecting);
	pthread_mutex_unlock(&pool->lock);
	if (join) {
		pthread_join(pool->reconnect, NULL);
		pool->joined = true;
	}
}

void pool_free(struct pool *pool)
{
	int i;

	if (pool == NULL)
		return;
	pool_reconnect_stop(pool, true);
	for (i = 0; i < pool->nidle; i++)
		session_close(pool->idle[i]);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->freed);
	pthread_cond_destroy(&pool->wake);
	free(pool->idle);
	free(pool->busy);
	free(pool);
}

bool pool_offline(struct pool *pool)
{
	bool off;

	pthread_mutex_lock(&pool->lock);
	off = pool->offline;
	pthread_mutex_unlock(&pool->lock);
	return off;
}

/* A connect failed because the server cannot be reached (ERR says why):
 * go offline, closing the idle sessions (a server that cannot be reached
 * has most likely dropped them too; checkin closes the busy ones while
 * offline, so the reconnect thread finds the idle array empty). Lock
 * held; let go and taken again around each close (no allocation, so no
 * failure that would close them under the lock). Only while still
 * offline: a session the reconnect thread opened meanwhile is kept. */
static void pool_go_offline(struct pool *pool, const char *err)
{
	if (!pool->offline)
		log_warn("offline: %s; file operations that need the server fail with ENETDOWN until "
			 "it can be reached again", err);
	pool->offline = true;
	pool_reconnect_start(pool);
	pthread_cond_broadcast(&pool->wake);
	pthread_cond_broadcast(&pool->freed);
	while (pool->offline && pool->nidle > 0) {
		struct session *s = pool->idle[--pool->nidle];

		pool->count--;
		pthread_mutex_unlock(&pool->lock);
		session_close(s);
		pthread_mutex_lock(&pool->lock);
	}
}

static void busy_add(struct pool *pool, struct session *s)
{
	pool->busy[pool->nbusy++] = s;
}

static void busy_remove(struct pool *pool, struct session *s)
{
	int i;

	for (i = 0; i < pool->nbusy; i++) {
		if (pool->busy[i] == s) {
			pool->busy[i] = pool->busy[--pool->nbusy];
			return;
		}
	}
}

int pool_checkout(struct pool *pool, const char *want, struct session **out)
{
	struct session *s = NULL;
	enum session_err cls;
	char err[256];
	int i, pick = -1, id, rc;
	unsigned long epoch;
	bool mine;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		if (pool->shutting_down) {
			pthread_mutex_unlock(&pool->lock);
			return -ESHUTDOWN;
		}
		if (pool->offline) {
			pool_reconnect_start(pool);
			pthread_mutex_unlock(&pool->lock);
			return -ENETDOWN;	/* at once: pool.h */
		}
		if (pool->nidle > 0) {
			pick = pool->nidle - 1;	/* most recently used */
			for (i = 0; want != NULL && i < pool->nidle; i++) {
				const char *sel = session_selected(pool->idle[i]);

				if (sel != NULL && strcmp(sel, want) == 0) {
					pick = i;
					break;
				}
			}
			s = pool->idle[pick];
			pool->idle[pick] = pool->idle[--pool->nidle];
			busy_add(pool, s);
			pthread_mutex_unlock(&pool->lock);
			deadline_attempt(pool->params->cfg->timeout);
			/* a connection the server closed while idle (Dovecot does when
			 * the selected mailbox is deleted) is replaced, not used */
			if (session_check_idle(s) < 0) {
				pool_checkin(pool, s);
				pthread_mutex_lock(&pool->lock);
				continue;
			}
			*out = s;
			return 0;
		}
		/* a refusal may have been passing (a restart, a burst of other
		 * clients): try for the configured number again after a while */
		if (pool->limit < pool->max && time(NULL) - pool->lowered_at >= POOL_RETRY_SECS)
			pool->limit = pool->max;
		if (pool->count < pool->limit)
			break;
		pthread_cond_wait(&pool->freed, &pool->lock);
	}
	/* open a new session, outside the lock */
	pool->count++;
	id = pool->next_id++;
	epoch = pool->epoch;
	/* the ONLINE callback's own connect: the unmount need not wait for it */
	mine = pool->started && pthread_equal(pthread_self(), pool->reconnect);
	pool->connecting = pool->connecting || mine;
	pthread_mutex_unlock(&pool->lock);

	deadline_attempt(pool->params->cfg->timeout);
	rc = pool_connect(pool, id, &s, &cls, err, sizeof(err));

	pthread_mutex_lock(&pool->lock);
	if (mine)
		pool->connecting = false;
	if (rc == 0 && mine && pool->shutting_down) {
		/* pool_shutdown did not wait for this connect: nothing more */
		pool->count--;
		pthread_mutex_unlock(&pool->lock);
		session_close(s);
		deadline_attempt_end();
		return -ESHUTDOWN;
	}
	if (rc < 0) {
		pool->count--;
		/* The server may cap connections per user: live with what we have. */
		if (pool_refusal(cls) && pool->count > 0 && pool->limit > pool->count) {
			log_warn("cannot open IMAP connection %d (%s); continuing with %d",
				 id, err, pool->count);
			pool->limit = pool->count;
			pool->lowered_at = time(NULL);
			pthread_cond_broadcast(&pool->freed);
			pthread_mutex_unlock(&pool->lock);
			return pool_checkout(pool, want, out);
		}
		log_err("cannot open IMAP connection: %s", err);
		/* tried until the attempt's deadline: later operations
		 * fail at once until the reconnect thread gets through. Not
		 * when it got through meanwhile (a newer epoch): this connect
		 * began before, and its failure says nothing of now */
		if (pool_unreachable(rc, cls) && !pool->shutting_down && pool->epoch == epoch) {
			pool_go_offline(pool, err);
			rc = -ENETDOWN;
		} else if (pool_unreachable(rc, cls) && pool->epoch != epoch) {
			log_info("(a connect begun before the server was back failed: not offline again)");
		}
		pthread_cond_broadcast(&pool->freed);
		pthread_mutex_unlock(&pool->lock);
		if (rc != -ENETDOWN && deadline_left_ms() == 0)
			rc = -ETIMEDOUT;	/* tried until the deadline */
		deadline_attempt_end();
		return rc == -ENETDOWN ? rc : rc == -EACCES || rc == -EPERM ? -EACCES : (rc == -ETIMEDOUT ? -ETIMEDOUT : -EIO);
	}
	busy_add(pool, s);
	pool->opened++;
	pthread_mutex_unlock(&pool->lock);
	*out = s;
	return 0;
}

void pool_checkin(struct pool *pool, struct session *s)
{
	bool broken = session_broken(s);

	deadline_attempt_end();
	pthread_mutex_lock(&pool->lock);
	busy_remove(pool, s);
	/* offline: not kept (pool_go_offline) */
	broken = broken || pool->offline;
	if (broken || pool->shutting_down)
		pool->count--;
	else
		pool->idle[pool->nidle++] = s;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
	if (broken || pool->shutting_down)
		session_close(s);
}

void pool_shutdown(struct pool *pool)
{
	int i;

	pthread_mutex_lock(&pool->lock);
	pool->shutting_down = true;
	for (i = 0; i < pool->nbusy; i++)
		session_shutdown(pool->busy[i]);
	pthread_cond_broadcast(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
	pool_reconnect_stop(pool, false);
}

void pool_get_stats(struct pool *pool, struct pool_stats *out)
{
	pthread_mutex_lock(&pool->lock);
	out->open = pool->count;
	out->busy = pool->nbusy;
	out->limit = pool->limit;
	out->max = pool->max;
	out->opened = pool->opened;
	out->offline = pool->offline;
	pthread_mutex_unlock(&pool->lock);
}

static int pool_cmp_busy(const void *a, const void *b)
{
	const struct pool_busy *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int pool_get_busy(struct pool *pool, struct pool_busy **out)
{
	struct pool_busy *v;
	int n;

	*out = NULL;
	/* the array cannot outgrow max_conns (it is sized so at pool_new) */
	v = calloc((size_t)pool->max, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&pool->lock);
	/* a busy session is closed only after checkin took it off this
	 * list under this lock: each one stays open while described */
	for (n = 0; n < pool->nbusy && n < pool->max; n++) {
		v[n].id = session_id(pool->busy[n]);
		session_describe(pool->busy[n], v[n].doing, sizeof(v[n].doing));
	}
	pthread_mutex_unlock(&pool->lock);
	qsort(v, (size_t)n, sizeof(*v), pool_cmp_busy);
	*out = v;
	return n;
}
