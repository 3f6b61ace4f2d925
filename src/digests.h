/*
 * digests — a checksum of each message this mount stored lately (APPEND),
 * so that the look for a copy already there (vfs_dedupe.c) tells one of
 * the same size apart without fetching it. Without it, a cp of many new
 * files into a folder fetched every earlier one of the same size before
 * each APPEND (generated mail, one list's notices, often share a size):
 * up to DEDUPE_CANDIDATES round trips per file.
 *
 * Only a difference is trusted: a message noted with another size or
 * checksum than the new one's is another message; one noted with the same
 * is still compared byte for byte. So a wrong or stale entry can cost a
 * duplicate, never a message.
 *
 * Keyed by mailbox node, UIDVALIDITY and UID, under which a message's
 * bytes never change. A bounded ring (DIGESTS_MAX entries, the oldest go
 * first); nothing else to free.
 * Thread-safe: digests.lock, a leaf lock (src/README.md, "Lock order").
 */
#ifndef IMAPFS_DIGESTS_H
#define IMAPFS_DIGESTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGESTS_MAX 1024

struct digest {
	uint32_t node, uidvalidity, uid;
	uint32_t crc;		/* CRC-32C of the bytes as stored (CRLF line ends) */
	uint64_t len;		/* their length */
};

struct digests {
	pthread_mutex_t lock;
	struct digest ring[DIGESTS_MAX];	/* guarded by lock */
	size_t next, n;				/* guarded by lock */
};

void digests_init(struct digests *d);
void digests_destroy(struct digests *d);
/* Message UID (of UIDVALIDITY) in node NODE has LEN bytes with CRC. */
void digests_note(struct digests *d, uint32_t node, uint32_t uidvalidity, uint32_t uid, uint64_t len,
		  uint32_t crc);
/* True only when that message was noted, with another length or CRC than
 * LEN and CRC: then its bytes differ. False when not noted, or the same. */
bool digests_differ(struct digests *d, uint32_t node, uint32_t uidvalidity, uint32_t uid, uint64_t len,
		    uint32_t crc);

#endif
