/*
 * test_digests — the checksums of messages this mount stored
 * (src/digests.c), which let vfs_dedupe.c skip fetching a message of the
 * same size: only a noted difference counts, the newest note of a message
 * wins, and the ring forgets the oldest first. Also vfs_crlf_crc: the
 * CRC-32C of a file as stored (bare LF or CR made CRLF) without the copy.
 */
#include "check.h"
#include "crc32c.h"
#include "digests.h"
#include "vfs_dedupe.h"

#include <stdint.h>
#include <stdlib.h>

struct ccase {
	const char *what, *in, *stored;	/* a file, and its bytes as the server keeps them */
};

static const struct ccase crlf[] = {
	{ "empty", "", "" },
	{ "CRLF already", "a\r\nb\r\n", "a\r\nb\r\n" },
	{ "bare LF", "a\nb\n", "a\r\nb\r\n" },
	{ "bare CR", "a\rb\r", "a\r\nb\r\n" },
	{ "mixed", "\na\r\r\nb\n\rc", "\r\na\r\n\r\nb\r\n\r\nc" },
	{ "no line end", "abc", "abc" },
};

int main(void)
{
	static struct digests d;	/* large: not on the stack */

	digests_init(&d);
	CHECK(!digests_differ(&d, 1, 7, 5, 100, 0xabc), "nothing noted: not known to differ");
	digests_note(&d, 1, 7, 5, 100, 0xabc);
	CHECK(!digests_differ(&d, 1, 7, 5, 100, 0xabc), "the same length and CRC: compared, not skipped");
	CHECK(digests_differ(&d, 1, 7, 5, 100, 0xabd), "another CRC differs");
	CHECK(digests_differ(&d, 1, 7, 5, 101, 0xabc), "another length differs");
	CHECK(!digests_differ(&d, 2, 7, 5, 100, 0xabd), "another node: not known");
	CHECK(!digests_differ(&d, 1, 8, 5, 100, 0xabd), "another UIDVALIDITY: not known");
	CHECK(!digests_differ(&d, 1, 7, 6, 100, 0xabd), "another UID: not known");
	digests_note(&d, 1, 7, 5, 100, 0xabd);
	CHECK(!digests_differ(&d, 1, 7, 5, 100, 0xabd), "the newest note wins");
	CHECK(digests_differ(&d, 1, 7, 5, 100, 0xabc), "the older note is overridden");
	for (uint32_t u = 1000; u < 1000 + DIGESTS_MAX - 1; u++)
		digests_note(&d, 1, 7, u, 10, u);
	CHECK(digests_differ(&d, 1, 7, 5, 100, 0xabc), "still there with DIGESTS_MAX entries in all");
	digests_note(&d, 1, 7, 99999, 10, 1);
	CHECK(!digests_differ(&d, 1, 7, 5, 100, 0xabc), "the oldest goes first once the ring is full");
	CHECK(digests_differ(&d, 1, 7, 1000, 10, 1), "the rest stay");
	digests_destroy(&d);

	for (size_t c = 0; c < sizeof(crlf) / sizeof(crlf[0]); c++) {
		const struct ccase *k = &crlf[c];
		uint64_t csize = 0;
		uint32_t got = vfs_crlf_crc(k->in, strlen(k->in), &csize);

		CHECK(got == crc32c(0, k->stored, strlen(k->stored)), "%s: CRC %08x", k->what, got);
		CHECK(csize == strlen(k->stored), "%s: size %llu, want %zu", k->what,
		      (unsigned long long)csize, strlen(k->stored));
		CHECK(csize == vfs_crlf_size(k->in, strlen(k->in)), "%s: as vfs_crlf_size", k->what);
	}
	return check_finish("test_digests");
}
