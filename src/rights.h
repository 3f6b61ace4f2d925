/*
 * rights — MYRIGHTS as imapfs reads and checks it. Pure code plus one log
 * line, no I/O.
 *
 * RFC 4314 split RFC 2086's "c" (create) and "d" (delete) into k, x, t
 * and e. Servers that still answer in RFC 2086 terms ("acdilrsw": none of
 * t, e, x, k) mean by "d" what RFC 4314 calls t, e and x, and by "c" what
 * it calls k and x (RFC 4314 §2.1.1, the union of the two readings it
 * allows). rights_read turns such an answer into RFC 4314 letters, so
 * every check asks for t, e, k as on a current server. An answer that has
 * any of t, e, x, k is RFC 4314 already and is kept as it is.
 */
#ifndef IMAPFS_RIGHTS_H
#define IMAPFS_RIGHTS_H

#include <stdbool.h>

/* RAW as RFC 4314 rights: malloc'd, owned by the caller; NULL when out
 * of memory. */
char *rights_read(const char *raw);

/*
 * May an operation that needs NEED (every letter of it, or any one when
 * ANY) go ahead on a mailbox with RIGHTS (NULL: not known, the server
 * will say no itself)? 0, or -EACCES after logging "OP WHERE: refused:
 * needs ... but MYRIGHTS is ..." so a refusal never goes unexplained.
 */
int rights_check(const char *rights, const char *need, bool any, const char *op, const char *where);

#endif
