/*
 * digests — checksums of the messages this mount stored lately, so that
 * vfs_dedupe.c can tell a message of the same size apart without a FETCH
 * (digests.h says why, and why only a difference is trusted). A ring:
 * noting writes over the oldest entry; looking scans from the newest, so
 * a message noted twice answers with what was noted last.
 */
#include "digests.h"

#include <string.h>

void digests_init(struct digests *d)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
}

void digests_destroy(struct digests *d)
{
	pthread_mutex_destroy(&d->lock);
}

void digests_note(struct digests *d, uint32_t node, uint32_t uidvalidity, uint32_t uid, uint64_t len,
		  uint32_t crc)
{
	pthread_mutex_lock(&d->lock);
	d->ring[d->next] = (struct digest){ .node = node, .uidvalidity = uidvalidity, .uid = uid,
					     .crc = crc, .len = len };
	d->next = (d->next + 1) % DIGESTS_MAX;
	if (d->n < DIGESTS_MAX)
		d->n++;
	pthread_mutex_unlock(&d->lock);
}

bool digests_differ(struct digests *d, uint32_t node, uint32_t uidvalidity, uint32_t uid, uint64_t len,
		    uint32_t crc)
{
	bool differ = false;

	pthread_mutex_lock(&d->lock);
	for (size_t k = 1; k <= d->n; k++) {
		const struct digest *e = &d->ring[(d->next + DIGESTS_MAX - k) % DIGESTS_MAX];

		if (e->node == node && e->uidvalidity == uidvalidity && e->uid == uid) {
			differ = e->len != len || e->crc != crc;
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return differ;
}
