/*
 * vfs_dedupe — is a new message already in the mailbox it is written to
 * (vfs_dedupe.c)? Message-IDs and byte comparisons; strings returned are
 * malloc'd for the caller. No lock held on entry.
 */
#ifndef IMAPFS_VFS_DEDUPE_H
#define IMAPFS_VFS_DEDUPE_H

#include "vfs_internal.h"

/* The Message-ID header's value ("<...>") from DATA's header block, or NULL
 * (malloc'd). */
char *vfs_find_msgid(const char *data, size_t len);
/* The Message-ID of message UID of node IDX (from its first 64 KiB,
 * BODY.PEEK), malloc'd, or NULL. */
char *vfs_msg_id(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t uid);
/* Whether messages A and B of node IDX have the same Message-ID (both
 * have one): B is an edit of A (sed -i, an editor's save), not another
 * message that happens to be written over A's name. */
bool vfs_same_msg_id(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t a, uint32_t b);
/* Whether messages A and B of node IDX have the same bytes. */
bool vfs_same_bytes(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t a, uint32_t b);
/* SIZE plus one for every bare LF or CR in DATA: its size once stored. */
uint64_t vfs_crlf_size(const char *data, size_t size);
/* The CRC-32C of DATA once stored (every bare LF or CR made CRLF), and
 * that size in *CSIZE (vfs_crlf_size), in one pass and without a copy. */
uint32_t vfs_crlf_crc(const char *data, size_t size, uint64_t *csize);
/* Whether node IDX already holds a message identical to the new one in
 * DATA (SIZE bytes): one with the same bytes once every bare LF or CR is
 * CRLF, as the server stores them. Only messages with a Message-ID are
 * looked for, and OVER (may be NULL: the message the new one is written
 * over), which is compared whatever its headers. CRC: DATA's
 * vfs_crlf_crc, so that a message this mount stored with other bytes
 * (digests.h) is not fetched to compare. 1 with *UID and *UIDVALIDITY; 0
 * when there is none; -errno when the check failed (the caller then
 * appends: a duplicate is better than a message lost). No lock held. */
int vfs_find_identical(struct vfs *v, uint32_t idx, const char *data, size_t size, uint32_t crc,
		       const struct alias_target *over, uint32_t *uid, uint32_t *uidvalidity);

/* After an APPEND to node IDX whose outcome is unknown (the connection
 * broke): whether the new message in DATA (SIZE bytes) is there now,
 * among the UIDs >= SINCE with its Message-ID that are not \Deleted,
 * compared byte for byte (so an older message with that Message-ID is
 * never taken for it unless it has the same bytes, which is the same
 * message: see vfs_find_identical). 1 with *UID and *UIDVALIDITY, 0 when
 * not, -errno when the check failed. DATA needs a Message-ID (the
 * search looks for it). No lock held. */
int vfs_find_arrived(struct vfs *v, uint32_t idx, const char *data, size_t size, uint32_t since,
		     uint32_t *uid, uint32_t *uidvalidity);

#endif
