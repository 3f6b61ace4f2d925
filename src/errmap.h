/*
 * errmap — the one place that turns IMAP outcomes into errno values.
 *
 * Two inputs: a libetpan return code (MAILIMAP_ERROR_*) and, for a tagged
 * NO, the response code the server put in brackets ("[OVERQUOTA]" etc.,
 * RFC 5530). Both tables live in errmap.c.
 */
#ifndef IMAPFS_ERRMAP_H
#define IMAPFS_ERRMAP_H

/*
 * Map an RFC 5530 / RFC 3501 response code name (case-insensitive, without
 * brackets, e.g. "OVERQUOTA") to a positive errno. NULL or an unknown code
 * gives EIO.
 */
int errmap_resp_code(const char *code);

/*
 * The same for the tagged NO (or BAD) to an APPEND: a refusal of that one
 * message. [LIMIT] is EFBIG (the message is too large for the server),
 * NULL or a code not in the table EINVAL (refused for its content, e.g.
 * "NO Message contains invalid header"); the rest as errmap_resp_code.
 */
int errmap_append_code(const char *code);

/*
 * The same for a tagged NO (or BAD) to a search the user wrote (the
 * search views): a query the server does not take. [BADCHARSET] and a
 * refusal without a code we know are EINVAL; the rest as errmap_resp_code.
 */
int errmap_query_code(const char *code);

/*
 * Map a libetpan return code to a positive errno: stream and parse errors
 * are EIO (the session must be dropped), a tagged NO to a command is
 * errmap_resp_code(code) (errmap_append_code for APPEND), memory errors ENOMEM; a refused LOGIN without a
 * response code is EACCES. 0 and the two connect
 * successes map to 0.
 */
int errmap_etpan(int etpan_rc, const char *resp_code);

/*
 * True when the libetpan return code means the connection can no longer be
 * used (stream broken, unparsable reply, BYE): the caller must drop the
 * session rather than return it to the pool.
 */
int errmap_is_fatal(int etpan_rc);

#endif
