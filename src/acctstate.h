/*
 * acctstate — what a mount learns of the account before it lists any
 * folder, as bytes: the capabilities vfs_new reads, NAMESPACE's answer
 * (the personal delimiter, the other namespaces' prefixes) and the
 * mailbox tree from LIST and LSUB. Kept beside the body cache
 * (cache_listing.c, vfs_acct.c) so that a mount can be made from it when
 * the server cannot be reached (issue 17, imapfs.1 "OFFLINE"). Pure
 * code, no I/O.
 *
 * Format: kept.h's framing around "IMAPFSA1", the account ("user@host:
 * port", u32 length, bytes), the time it was kept (i64, epoch seconds),
 * the ACCTSTATE_* capability bits (u32), the APPEND limit (u64), the
 * personal delimiter (u8), the namespace prefixes (u32 count, strings),
 * then the mailboxes (u64 count; each its server name, delimiter u8,
 * LIST attributes, and a u8 of ACCTSTATE_BOX_* bits).
 *
 * acctstate_decode trusts nothing: a file cut short, altered, of another
 * account, with an empty mailbox name, a name, prefix or attribute
 * holding CR or LF, a delimiter that is CR or LF, unknown bits or lengths
 * past its end is -EBADMSG. acctstate_encode applies the same tests (one
 * set of predicates) and leaves out a mailbox or prefix that fails them,
 * so a hostile server's names cannot make a file that is then refused.
 * Ownership: every string and array of a decoded struct acctstate is
 * malloc'd; acctstate_free frees them (not the struct). acctstate_encode
 * reads its argument only and gives a malloc'd *OUT.
 */
#ifndef IMAPFS_ACCTSTATE_H
#define IMAPFS_ACCTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	ACCTSTATE_CONDSTORE = 1 << 0,
	ACCTSTATE_UIDPLUS = 1 << 1,
	ACCTSTATE_MOVE = 1 << 2,
	ACCTSTATE_ACL = 1 << 3,
	ACCTSTATE_QRESYNC = 1 << 4,
	ACCTSTATE_NAMESPACE = 1 << 5,
	ACCTSTATE_UNSELECT = 1 << 6,
	ACCTSTATE_SASL_IR = 1 << 7,
	ACCTSTATE_CAPS = (1 << 8) - 1,	/* every bit a file may hold */
};

enum {
	ACCTSTATE_BOX_NOSELECT = 1 << 0,
	ACCTSTATE_BOX_SUBSCRIBED = 1 << 1,
	ACCTSTATE_BOX_BITS = (1 << 2) - 1,
};

#define ACCTSTATE_NS_MAX 16	/* as struct vfs's ns_prefix */

struct acctstate_box {
	char *name;		/* server name, never empty */
	char delim;		/* '\0': flat */
	char *attrs;		/* LIST attributes; NULL when none */
	uint8_t bits;		/* ACCTSTATE_BOX_* */
};

struct acctstate {
	char *account;		/* "user@host:port" */
	int64_t saved;		/* when it was kept, epoch seconds */
	uint32_t caps;		/* ACCTSTATE_* */
	uint64_t append_limit;
	char personal_delim;
	char *ns_prefix[ACCTSTATE_NS_MAX];
	int nns;
	struct acctstate_box *boxes;
	size_t nboxes;
};

/* S into a malloc'd *OUT of *LEN bytes: 0, -ENOMEM, or -EINVAL (a
 * personal delimiter of CR or LF: nothing kept). *SKIPPED: how many
 * mailboxes and prefixes were left out as acctstate_decode would refuse
 * them (the caller logs it). */
int acctstate_encode(const struct acctstate *s, char **out, size_t *len, size_t *skipped);
/* LEN bytes at IN, which must be ACCOUNT's state: 0 and *S filled (free
 * with acctstate_free); -EBADMSG; -ENOMEM. *S holds nothing on failure. */
int acctstate_decode(const char *in, size_t len, const char *account, struct acctstate *s);
void acctstate_free(struct acctstate *s);

#endif
