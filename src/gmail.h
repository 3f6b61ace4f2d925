/*
 * gmail — Gmail's X-GM-EXT-1 in the mailbox model: one message, many
 * folders.
 *
 * On Gmail a message is stored once and shown in [Gmail]/All Mail and
 * once more in the folder of each of its labels (INBOX is the \Inbox
 * label, [Gmail]/Sent Mail the \Sent label, and so on), each time under
 * that folder's own UID. Its identity is its X-GM-MSGID. Here:
 *   - every message with an X-GM-MSGID gets one inode number, whatever
 *     folder it is seen in: GMAIL_INO_BIT | (table index + 1). The table
 *     maps the number to the msgid and to the place the message was last
 *     seen (node, UID), where getattr, open and the xattrs find it; when that
 *     place no longer holds it, the loaded folders are searched for
 *     another. Entries are never removed while mounted, so FORGET still
 *     costs nothing and a number never names another message;
 *   - st_nlink is the number of shown folders its X-GM-LABELS put it in
 *     (gmail_nlink), so du, rsync -H and find -samefile see hard links;
 *   - the body cache keeps its body once, under the msgid (vfs_gmail.c
 *     maps cache keys).
 * A folder's label is found through the LIST SPECIAL-USE attributes
 * (\All, \Trash, \Junk, \Sent, \Drafts, \Important, \Flagged), never by
 * the folder's (localised) name; user labels are folder names.
 *
 * Locking: every field after ON is guarded by tree.lock (tree.h); every
 * function taking a struct tree is called with it held. ON and ALLMAIL are
 * set before threads exist.
 *
 * The label list of user.imap.labels (gmail_labels_parse/_format) is pure
 * code: labels shown in UTF-8, separated by spaces, a label with a space,
 * '"' or '\' after its first byte, or starting with '+' or '-', in double
 * quotes with '\' escaping '"' and '\'. Written: "A B" replaces the
 * labels, "+A" adds, "-A" removes (items may mix + and -, but not signed
 * and plain ones), like user.imap.flags.
 */
#ifndef IMAPFS_GMAIL_H
#define IMAPFS_GMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tree.h"

/* Above every mailbox and message inode ((node + 1) << 32 | UID with
 * nodes far below 2^29), below vfs_internal.h's pending bit (1 << 62). */
#define GMAIL_INO_BIT (1ULL << 61)
static inline bool gmail_ino_is(uint64_t ino) { return (ino >> 61) == 1; }

/* The special-use folders a label can name (index into gmail.spec). */
enum { GMAIL_ALL, GMAIL_TRASH, GMAIL_SPAM, GMAIL_SENT, GMAIL_DRAFTS, GMAIL_IMPORTANT,
       GMAIL_STARRED, GMAIL_INBOX, GMAIL_NSPEC };

/* Places remembered per message: a message is rarely in more folders
 * (INBOX, All Mail, a label or two), so one that leaves the folder it was
 * last seen in is nearly always found again without a search. */
#define GMAIL_PLACES 4

/* At most this many msgids get an inode of their own per mount (56 bytes
 * each, about 125 MB): past it, messages not seen before are plain files
 * of one link in each folder (logged once), so a huge account costs
 * bounded memory. */
#define GMAIL_MAX_MSGIDS (2u << 20)

struct gmail_ent {
	uint64_t msgid;
	uint32_t node[GMAIL_PLACES], uid[GMAIL_PLACES];	/* places it was seen (node 0: none) */
	uint32_t next;		/* hash chain: index + 1, 0 ends it */
	uint8_t last;		/* the place it was seen last */
	uint64_t missed;	/* 1 + the tree's state (gmail.c state_of) when a search
				 * of the loaded folders last failed, 0 none */
};

struct gmail {
	bool on;		/* the server has X-GM-EXT-1; immutable */
	int allmail;		/* enum config_allmail; immutable */
	struct gmail_ent *v;	/* guarded by tree.lock, as all below */
	size_t n, cap;
	uint32_t *buckets;	/* msgid hash -> index + 1 */
	size_t max;		/* bound on n, GMAIL_MAX_MSGIDS when 0 */
	bool full;		/* n reached it: new msgids get no inode of their own */
	bool warned;		/* FULL logged */
	size_t nbuckets;	/* a power of two, or 0 */
	uint64_t spec_gen;	/* tree.gen when SPEC was computed */
	bool spec_valid;
	long spec[GMAIL_NSPEC];	/* node of each special folder, -1 when none */
};

void gmail_free(struct gmail *g);

/* The inode number of message MSGID seen at (NODE, UID), made on first
 * sight; (NODE, UID) becomes the place gmail_locate gives. 0 when out of
 * memory or past the bound (FULL set; the caller then uses the plain
 * number). */
uint64_t gmail_ino(struct gmail *g, const struct tree *t, uint64_t msgid, uint32_t node, uint32_t uid);

/* Where the message of inode INO is: 0 with *NODE and *UID; -EAGAIN with
 * *NODE when no loaded folder shows it but folder *NODE, not loaded now,
 * may (the last place it was seen, All Mail, Trash, Spam: load it and ask
 * again); -ENOENT when none can. */
int gmail_locate(struct gmail *g, struct tree *t, uint64_t ino, uint32_t *node, uint32_t *uid);

/* The msgid of inode INO, 0 when unknown. */
uint64_t gmail_msgid(const struct gmail *g, uint64_t ino);

/* The shown folder label LABEL (raw server string) puts a message in, or
 * -1. */
long gmail_label_node(struct gmail *g, const struct tree *t, const char *label, size_t len);

/* The label that puts a message in folder NODE (raw, static or the
 * node's name: valid while the lock is held); NULL for All Mail or a
 * folder no label names. */
const char *gmail_folder_label(struct gmail *g, const struct tree *t, uint32_t node);

/* Is LABEL in the '\n'-joined RAW (system labels in any case)? */
bool gmail_labels_has(const char *raw, const char *label);
/* Take LABEL out of the '\n'-joined RAW, in place. */
void gmail_labels_remove(char *raw, const char *label);

/* RENAME FROM TO of a label folder (with DELIM, its children too): the
 * loaded messages' labels follow, as Gmail's do. Lock held. */
void gmail_label_renamed(struct tree *t, const char *from, const char *to, char delim);

/* Node of special folder WHICH (GMAIL_*), or -1. */
long gmail_special(struct gmail *g, const struct tree *t, int which);

/* How many shown folders show M, seen in folder NODE: this one, All Mail
 * unless M is in Trash or Spam, and each other folder a label of M names. */
nlink_t gmail_nlink(struct gmail *g, const struct tree *t, uint32_t node, const struct tree_msg *m);

/* user.imap.labels: RAW ('\n'-joined server strings, or NULL) shown as
 * described above, into a malloc'd *OUT of *LEN bytes. */
int gmail_labels_format(const char *raw, char **out, size_t *len);

/* A value written to user.imap.labels: *REPLACE, and malloc'd '\n'-joined
 * raw (modified UTF-7) lists of labels to add (or set) and to remove, NULL
 * when none. -EINVAL for bad syntax or an empty label. */
int gmail_labels_parse(const char *val, size_t len, bool *replace, char **add, char **del);

#endif
