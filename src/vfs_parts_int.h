/*
 * vfs_parts_int — what vfs_parts.c (the table, the structure, lookup,
 * listing, attributes) and vfs_parts_fill.c (fetching and decoding parts,
 * their sizes, reading) share: a message taken apart and its pieces.
 * Internal to the parts view; see vfs_parts.h for what it shows and its
 * locks.
 *
 * A message taken apart (struct parts_msg) holds its structure, its
 * entries flattened over every nested message (each entry knows the
 * directory it is in), and one fill per distinct thing to decode (a
 * section, and whether its text is converted to UTF-8): "text" and "1"
 * of a UTF-8 text part share one. A fill decodes its section in order,
 * window after window, into a cache writer; a reader waits until the
 * bytes it wants are decoded. Only one thread talks to the server for a
 * message at a time (busy), so a fill's progress needs no lock of its own.
 */
#ifndef IMAPFS_VFS_PARTS_INT_H
#define IMAPFS_VFS_PARTS_INT_H

#include "mime_decode.h"
#include "mime_parts.h"
#include "session.h"
#include "vfs_internal.h"

#define SERIAL_MASK	((1U << 26) - 1)
#define MAX_ENTRIES	4096		/* a hostile structure shows no more */
#define FIRST_WINDOW	(32 * 1024)	/* a part's first fetch: head -c stays under 64 KiB */
#define LAST_WINDOW	(4 * 1024 * 1024)
#define WHOLE_MAX	(256 * 1024)	/* below this, a part is decoded whole to learn its size */
#define PROBE		1024		/* each end of a base64 part fetched for its size */
#define HEADER_MAX	(1024 * 1024)	/* a nested message's header */
#define BATCH_MAX	(4 * 1024 * 1024)	/* whole parts in one listing's FETCH, in all */
#define CONV_MAX	(64 * 1024 * 1024)	/* larger text is not converted (held whole to convert) */
#define QP_LINE_MAX	(64 * 1024)	/* a quoted-printable "line" longer is decoded in pieces */
#define PARTS_WRITERS	4		/* parts of one message begun and not read to their end */

enum pmode { PM_BYTES, PM_BASE64, PM_QP };

/* One thing to decode. Guarded by the message's lock, except that the
 * thread holding the message busy feeds W and reads ENC_OFF, B64, CARRY
 * and CONV without it (nobody else touches those). */
struct pfill {
	char section[80];
	enum pmode mode;
	const char *charset;	/* convert from it to UTF-8 at the end; NULL: bytes as they are */
	char *key;		/* the cache key's mailbox: mailbox 0x1f T|P section */
	uint64_t enc_size;	/* the structure's size of the section; 0 unknown */
	bool size_known;
	bool guessed;		/* the size was told from the two ends (mime_base64_size) */
	bool pin;		/* keep FD however many are open (it left the cache once) */
	int opens;		/* files open on it now (their readers go on with W) */
	uint64_t stepped;	/* the message's step count when a window last came */
	uint64_t size;
	bool done;		/* all decoded and in the cache; FD holds it (body at
				 * CACHE_DATA_OFF), or -1: readers open it themselves */
	int fd;
	struct cache_writer *w;	/* what is decoded so far, while not done */
	uint64_t decoded;	/* bytes in W */
	uint64_t enc_off;	/* section bytes fetched so far */
	uint32_t window;	/* the next fetch's length */
	struct mime_b64 b64;
	char *carry;		/* quoted-printable: a line cut by a window's end */
	size_t ncarry;
	char *conv;		/* to be converted at the end */
	size_t nconv;
	uint32_t entry;		/* the first entry showing it (its inode, for the kernel) */
};

struct pent {
	char *name;
	enum mime_entry_kind kind;
	const struct mime_part *part, *msg;
	uint32_t dir;		/* 0: the message's directory; else the index + 1 of its MIME_MESSAGE entry */
	int fill;		/* -1: a directory, or the top "raw" (the message itself) */
};

struct parts_msg {
	/* immutable */
	uint32_t serial, node, uid, uv;
	int64_t date;
	uint64_t msgsize;	/* RFC822.SIZE: no section is longer */
	char *mailbox;
	/* guarded by parts.lock */
	int refs;		/* the table's, and each open file's and caller's */
	uint64_t used;
	/* the rest guarded by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* busy went false */
	bool busy;		/* a thread talks to the server for it */
	uint64_t steps;		/* windows fed, for pfill.stepped */
	bool loaded;
	struct mime_part top;
	struct pent *e;
	size_t n;
	struct pfill *fill;
	size_t nfill;
};

static inline uint64_t parts_ino(uint32_t serial, uint32_t idx)
{
	return VFS_VIEW_BIT | (uint64_t)(serial & SERIAL_MASK) << 32 | idx;
}

static inline uint32_t ino_serial(uint64_t ino) { return (uint32_t)(ino >> 32) & SERIAL_MASK; }
static inline uint32_t ino_low(uint64_t ino) { return (uint32_t)ino; }

/* Wait until nobody talks to the server for PM, and be the one (its lock
 * held); give it back (lock held) and wake the waiters. */
void parts_take(struct parts_msg *pm);
void parts_give(struct parts_msg *pm);

/* What parts_run asks: the structure (TOP non-NULL, with the header), or
 * the sections REQ[0..N). */
struct op {
	struct mime_part *top;	/* structure (with header) */
	char **header;
	size_t *hlen;
	struct session_section *req;	/* or sections */
	size_t n;
};
/* OP on a session with PM's mailbox selected, its UIDVALIDITY checked;
 * once more on a new connection when the connection broke. No lock held. */
int parts_run(struct vfs *v, const struct parts_msg *pm, struct op *op);

/* LEN bytes of fill F's section (LAST: the end of it) decoded into F; at
 * the end, kept in the cache and done. Busy held, no lock. */
int parts_feed(struct vfs *v, struct parts_msg *pm, struct pfill *f, const char *in, size_t len, bool last);

/* Make the sizes of the fills WANT[0..N) known (from the cache, the two
 * ends of a base64 part, or by decoding). Lock not held. */
int parts_resolve(struct vfs *v, struct parts_msg *pm, const int *want, size_t n);

#endif
