/*
 * maildir — Maildir file names: the flags one carries in its info suffix
 * ("1700000000.M1P2.host,S=1234:2,FRS"), read when such a file is copied
 * into the mount (cp -r ~/Maildir/cur ~/mail/Imported), and the names
 * the Maildir view gives messages and reads back from renames. Pure code,
 * no I/O.
 *
 * The letters are those of the Maildir specification and mbsync:
 *   D \Draft   F \Flagged   P $Forwarded   R \Answered   S \Seen
 *   T "trashed": for a copied-in file reported, never turned into \Deleted
 *     (an imported message marked \Deleted would be removed by the next
 *     EXPUNGE of any client); in the Maildir view's names and renames,
 *     \Deleted (which expunges nothing by itself)
 * Lower-case letters are Dovecot's per-folder keyword slots, whose names
 * live in a file the copy does not bring along: ignored.
 */
#ifndef IMAPFS_MAILDIR_H
#define IMAPFS_MAILDIR_H

#include <stdbool.h>
#include <stdint.h>

struct maildir_info {
	uint8_t sysflags;	/* SESSION_F_* */
	bool forwarded;		/* P: the $Forwarded keyword */
	bool trashed;		/* T: seen and ignored */
};

/* Whether NAME ends in a Maildir info suffix (":2," and letters only);
 * if so, *OUT has its flags. */
bool maildir_info_parse(const char *name, struct maildir_info *out);

/*
 * The file names of the Maildir view (-o layout=maildir, imapfs.1 MAILDIR),
 * stable across mounts:
 *
 *   UIDVALIDITY_UID_BOX.imapfs,U=UID:2,FLAGS
 *
 * UIDVALIDITY in decimal without leading zeros, UID in ten digits with
 * leading zeros (so the names sort in UID order: a reader going through
 * them in name order, as shell globs do, is one the read-ahead follows);
 * BOX eight lower-case hex digits, a hash of the server's mailbox name (two
 * mailboxes may share a UIDVALIDITY: Dovecot takes the time of creation,
 * so without it a name moved to another folder could name a message
 * there); FLAGS the letters of the message's flags in ASCII order:
 * D \Draft, F \Flagged, P the $Forwarded keyword, R \Answered, S \Seen,
 * T \Deleted. Everything before ":2," is the unique part (",U=UID" as
 * mbsync writes it).
 */
#define MAILDIR_NAME_MAX 80

/* The name of message UID of UIDVALIDITY in the mailbox of hash BOX with
 * SYSFLAGS (SESSION_F_*), and P when FORWARDED, into BUF
 * (MAILDIR_NAME_MAX bytes). */
void maildir_name(uint32_t uidvalidity, uint32_t uid, uint32_t box, uint8_t sysflags, bool forwarded,
		  char *buf);

/* Whether NAME is such a name (any info part, or none): its UIDVALIDITY,
 * UID and BOX in *UV, *UID and *BOX. Only the exact spelling maildir_name
 * writes, with any info part of letters. */
bool maildir_name_parse(const char *name, uint32_t *uv, uint32_t *uid, uint32_t *box);

/* The letters a rename changes: ADD and DEL (SESSION_F_*, with \Deleted for
 * T) and FWD_ADD/FWD_DEL for P, from the info part of FROM to that of TO.
 * A name without an info part changes nothing (mutt moving new/X to
 * cur/X). FROM_FLAGS: the message's flags, taken as FROM's when FROM has
 * no info part. */
void maildir_info_diff(const char *from, uint8_t from_flags, bool from_fwd, const char *to,
		       uint8_t *add, uint8_t *del, int *fwd);

/* "cur", "new" and "tmp": the Maildir subdirectories, in this order
 * (vfs_internal.h's enum vfs_maildir_sub follows it), which a mailbox of
 * that name cannot be shown as in that layout (names.c escapes them). */
extern const char *const maildir_subdirs[3];
/* NAME's index in maildir_subdirs, or -1. */
int maildir_subdir(const char *name);

#endif
