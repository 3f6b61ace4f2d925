/*
 * test_errmap — response codes and libetpan return codes to errno, and
 * which failures must drop the session. These are the errnos users see
 * (a full quota must say EDQUOT, not EIO), and the fatal test is what
 * keeps a desynchronised connection out of the pool.
 */
#include <errno.h>
#include <stddef.h>

#include <libetpan/libetpan.h>

#include "check.h"
#include "errmap.h"

static const struct {
	const char *code;
	int err;
} codes[] = {
	/* RFC 5530 */
	{ "OVERQUOTA", EDQUOT },
	{ "ALREADYEXISTS", EEXIST },
	{ "NONEXISTENT", ENOENT },
	{ "NOPERM", EACCES },
	{ "INUSE", EBUSY },
	{ "LIMIT", ENOSPC },
	{ "AUTHENTICATIONFAILED", EACCES },
	{ "AUTHORIZATIONFAILED", EACCES },
	{ "EXPUNGEISSUED", ESTALE },
	{ "UNAVAILABLE", EAGAIN },
	{ "CANNOT", EPERM },
	{ "SERVERBUG", EIO },
	/* RFC 3501 */
	{ "TRYCREATE", ENOENT },
	{ "READ-ONLY", EROFS },
	/* case does not matter */
	{ "overquota", EDQUOT },
	{ "OverQuota", EDQUOT },
	{ "alreadyExists", EEXIST },
	{ "read-only", EROFS },
	/* unknown codes, and near misses that must not match as prefixes */
	{ NULL, EIO },
	{ "", EIO },
	{ "XYZZY", EIO },
	{ "OVER", EIO },
	{ "OVERQUOTAX", EIO },
	{ "OVERQUOTA ", EIO },
	{ " OVERQUOTA", EIO },
	{ "[OVERQUOTA]", EIO },
	{ "ALREADYEXIST", EIO },
};

/* a refused APPEND: about that one message */
static const struct {
	const char *code;
	int err;
} append_codes[] = {
	{ NULL, EINVAL },		/* "NO Message contains invalid header" */
	{ "XYZZY", EINVAL },
	{ "LIMIT", EFBIG },
	{ "limit", EFBIG },
	{ "TOOBIG", EFBIG },
	{ "OVERQUOTA", EDQUOT },
	{ "TRYCREATE", ENOENT },
	{ "READ-ONLY", EROFS },
	{ "NOPERM", EACCES },
	{ "SERVERBUG", EIO },
	{ "UNAVAILABLE", EAGAIN },
};

static const struct {
	int rc;
	const char *code;
	int err;
	int fatal;
} etpan[] = {
	{ MAILIMAP_NO_ERROR, NULL, 0, 0 },
	{ MAILIMAP_NO_ERROR_AUTHENTICATED, NULL, 0, 0 },
	{ MAILIMAP_NO_ERROR_NON_AUTHENTICATED, NULL, 0, 0 },
	/* stream and parse errors: EIO and drop the session, whatever the code */
	{ MAILIMAP_ERROR_STREAM, NULL, EIO, 1 },
	{ MAILIMAP_ERROR_PARSE, NULL, EIO, 1 },
	{ MAILIMAP_ERROR_STREAM, "OVERQUOTA", EIO, 1 },
	{ MAILIMAP_ERROR_PARSE, "ALREADYEXISTS", EIO, 1 },
	{ MAILIMAP_ERROR_FATAL, NULL, EIO, 1 },		/* BYE */
	{ MAILIMAP_ERROR_MEMORY, NULL, ENOMEM, 0 },
	/* a tagged NO: the response code decides, the session lives on */
	{ MAILIMAP_ERROR_CREATE, "ALREADYEXISTS", EEXIST, 0 },
	{ MAILIMAP_ERROR_APPEND, "OVERQUOTA", EDQUOT, 0 },
	{ MAILIMAP_ERROR_APPEND, "overquota", EDQUOT, 0 },
	{ MAILIMAP_ERROR_APPEND, NULL, EINVAL, 0 },
	{ MAILIMAP_ERROR_APPEND, "LIMIT", EFBIG, 0 },
	{ MAILIMAP_ERROR_STREAM, "LIMIT", EIO, 1 },
	{ MAILIMAP_ERROR_SELECT, "NONEXISTENT", ENOENT, 0 },
	{ MAILIMAP_ERROR_DELETE, "INUSE", EBUSY, 0 },
	{ MAILIMAP_ERROR_RENAME, "NOPERM", EACCES, 0 },
	{ MAILIMAP_ERROR_UID_STORE, "CANNOT", EPERM, 0 },
	{ MAILIMAP_ERROR_SELECT, NULL, EIO, 0 },
	{ MAILIMAP_ERROR_CREATE, "XYZZY", EIO, 0 },
};

/* a refused search the user wrote: about the query unless a code says more */
static const struct {
	const char *code;
	int err;
} query_codes[] = {
	{ NULL, EINVAL },
	{ "BADCHARSET", EINVAL },
	{ "XYZZY", EINVAL },
	{ "CANNOT", EPERM },
	{ "UNAVAILABLE", EAGAIN },
	{ "LIMIT", ENOSPC },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(query_codes) / sizeof(query_codes[0]); i++) {
		int got = errmap_query_code(query_codes[i].code);

		CHECK(got == query_codes[i].err, "errmap_query_code(%s) = %d, want %d",
		      check_q(query_codes[i].code), got, query_codes[i].err);
	}
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		int got = errmap_resp_code(codes[i].code);

		CHECK(got == codes[i].err, "errmap_resp_code(%s) = %d, want %d",
		      check_q(codes[i].code), got, codes[i].err);
	}
	for (size_t i = 0; i < sizeof(append_codes) / sizeof(append_codes[0]); i++) {
		int got = errmap_append_code(append_codes[i].code);

		CHECK(got == append_codes[i].err, "errmap_append_code(%s) = %d, want %d",
		      check_q(append_codes[i].code), got, append_codes[i].err);
	}
	for (size_t i = 0; i < sizeof(etpan) / sizeof(etpan[0]); i++) {
		int got = errmap_etpan(etpan[i].rc, etpan[i].code);
		int fatal = errmap_is_fatal(etpan[i].rc);

		CHECK(got == etpan[i].err, "errmap_etpan(%d, %s) = %d, want %d",
		      etpan[i].rc, check_q(etpan[i].code), got, etpan[i].err);
		CHECK(!fatal == !etpan[i].fatal, "errmap_is_fatal(%d) = %d, want %s",
		      etpan[i].rc, fatal, etpan[i].fatal ? "true" : "false");
	}
	return check_finish("test_errmap");
}
