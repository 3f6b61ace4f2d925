/*
 * pool — a bounded set of IMAP sessions with checkout/checkin.
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
};

#define POOL_RETRY_SECS 60	/* a lowered limit is raised again after this */
#define POOL_BACKOFF_MIN_MS 100	/* first pause before connecting again */
#define POOL_BACKOFF_MAX_MS 2000

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
	if (cls != SESSION_ERR_CONNECT && cls != SESSION_ERR_TLS)
		return false;
	return rc != -EPERM && rc != -EPROTO && rc != -EINVAL && rc != -ENOMEM && rc != -EACCES;
}

static void pool_sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Open session ID, connecting again with backoff (100 ms, doubling to 2 s)
 * while the failure is transient and the attempt's deadline leaves room,
 * so that one reset connection or handshake costs no error. */
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
		if (left < 0)
			return rc;	/* no deadline to bound the retries */
		if (left <= delay)
			return left == 0 ? -ETIMEDOUT : rc;
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

int pool_new(const struct session_params *p, int max_conns, struct session *first, struct pool **out)
{
	struct pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL)
		return -ENOMEM;
	pool->idle = calloc((size_t)max_conns, sizeof(*pool->idle));
	pool->busy = calloc((size_t)max_conns, sizeof(*pool->busy));
	if (pool->idle == NULL || pool->busy == NULL) {
		free(pool->idle);
		free(pool->busy);
		free(pool);
		return -ENOMEM;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);
	pool->params = p;
	pool->limit = max_conns;
	pool->max = max_conns;
	pool->opened = 1;
	pool->next_id = session_id(first) + 1;
	pool->idle[pool->nidle++] = first;
	pool->count = 1;
	*out = pool;
	return 0;
}

void pool_free(struct pool *pool)
{
	int i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->nidle; i++)
		session_close(pool->idle[i]);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->freed);
	free(pool->idle);
	free(pool->busy);
	free(pool);
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

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		if (pool->shutting_down) {
			pthread_mutex_unlock(&pool->lock);
			return -ESHUTDOWN;
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
	pthread_mutex_unlock(&pool->lock);

	deadline_attempt(pool->params->cfg->timeout);
	rc = pool_connect(pool, id, &s, &cls, err, sizeof(err));

	pthread_mutex_lock(&pool->lock);
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
		pthread_cond_broadcast(&pool->freed);
		pthread_mutex_unlock(&pool->lock);
		deadline_attempt_end();
		return rc == -EACCES || rc == -EPERM ? -EACCES : (rc == -ETIMEDOUT ? -ETIMEDOUT : -EIO);
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
}

void pool_get_stats(struct pool *pool, struct pool_stats *out)
{
	pthread_mutex_lock(&pool->lock);
	out->open = pool->count;
	out->busy = pool->nbusy;
	out->limit = pool->limit;
	out->max = pool->max;
	out->opened = pool->opened;
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
