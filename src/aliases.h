/*
 * aliases — names and inode numbers that keep meaning a message for a
 * minute after a change gave it another name.
 *
 * A message's file name is its UID, which the server picks: after
 * `mv Bulk/13.eml Boss/` the message is Boss/27.eml, after `cp x.eml Box/`
 * it is Box/<APPENDUID>.eml. Tools look again at the name they just made
 * (coreutils mv with several sources stats each destination; sed -i renames
 * its temporary file over the original after closing it), so for
 * ALIASES_TTL_S seconds the name a change was made under resolves to the
 * message it made, and the inode number the kernel still holds for the old
 * file answers for the new one. readdir never lists an alias; a real
 * message's name always wins over one.
 *
 * The table is bounded (ALIASES_MAX entries, the oldest go first) and
 * knows nothing of IMAP: callers check that the message still exists.
 * Every function is thread-safe (aliases.lock, a leaf lock: src/README.md,
 * "Lock order").
 */
#ifndef IMAPFS_ALIASES_H
#define IMAPFS_ALIASES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALIASES_TTL_S	60
#define ALIASES_MAX	4096

/* What an alias points at: message UID (of UIDVALIDITY) in mailbox node
 * NODE. APPENDED: the message was stored for this name by this mount, so
 * renaming the name over another message replaces that one (vfs_change.c).
 * FOUND: nothing was stored for the name because an identical message was
 * already there (vfs_dedupe.c): that message is not the name's to remove or
 * replace, so rm of the name drops only the alias, and writing over the
 * name never expunges it. */
struct alias_target {
	uint32_t node;
	uint32_t uid;
	uint32_t uidvalidity;
	bool appended;
	bool found;
};

struct alias_entry {
	uint32_t node;		/* mailbox NAME is in (name aliases) */
	char *name;		/* owned; NULL for an inode forward */
	uint64_t ino;		/* inode forwarded (0 for a name alias) */
	struct alias_target to;
	int64_t expires;	/* monotonic seconds */
};

struct aliases {
	pthread_mutex_t lock;
	struct alias_entry *e;	/* guarded by lock; owned */
	size_t n, cap;		/* guarded by lock */
};

void aliases_init(struct aliases *a);
void aliases_free(struct aliases *a);

/* NAME in mailbox NODE now means TO, until NOW + ALIASES_TTL_S (replaces
 * an alias of that name). -ENOMEM when it cannot be kept (then the name
 * simply does not resolve: nothing else depends on it). */
int aliases_name_set(struct aliases *a, uint32_t node, const char *name, const struct alias_target *to,
		     int64_t now);
/* 0 and *TO when NAME in NODE is a live alias, else -ENOENT. */
int aliases_name_get(struct aliases *a, uint32_t node, const char *name, int64_t now,
		     struct alias_target *to);
void aliases_name_drop(struct aliases *a, uint32_t node, const char *name);

/* Inode INO (a message moved away, a new file stored) now answers for TO. */
int aliases_ino_set(struct aliases *a, uint64_t ino, const struct alias_target *to, int64_t now);
int aliases_ino_get(struct aliases *a, uint64_t ino, int64_t now, struct alias_target *to);

/* Whether a live name alias with FOUND set points at TO's message. */
bool aliases_found_to(struct aliases *a, const struct alias_target *to, int64_t now);

/* Whether a live name alias other than NAME (in TO's mailbox) with
 * APPENDED set points at TO's message: it was stored a moment ago for
 * another file (a restore: 10.eml stored as UID 2 just before 2.eml is
 * written over that name). */
bool aliases_appended_elsewhere(struct aliases *a, const struct alias_target *to, const char *name,
				int64_t now);

/* Live FOUND name aliases of FROM's message now mean TO (their own copy,
 * made before FROM's message is removed). */
void aliases_found_retarget(struct aliases *a, const struct alias_target *from, const struct alias_target *to,
			    int64_t now);

/* Forget every alias in or to mailbox NODE (it was deleted). */
void aliases_drop_node(struct aliases *a, uint32_t node);

#endif
