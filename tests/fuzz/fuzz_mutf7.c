/*
 * fuzz_mutf7 — libFuzzer target for modified UTF-7 (src/mutf7.c).
 *
 * Properties, each checked with abort() so a violation is a crash:
 *  - mutf7_decode never crashes on arbitrary bytes (server mailbox names);
 *  - whenever it succeeds, its output is valid UTF-8 that mutf7_encode
 *    turns back into exactly the input (the decoder accepts only the one
 *    canonical spelling, which names.c relies on);
 *  - mutf7_encode of arbitrary bytes (file names from mkdir/rename) never
 *    crashes, and when it succeeds the result decodes back to the input.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *dec = NULL, *enc = NULL, *back = NULL;
	int rc;

	/* C strings: the input up to its first NUL */
	in = malloc(size + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';

	rc = mutf7_decode(in, &dec);
	if (rc != 0 && rc != -EILSEQ)
		abort();
	if (rc == 0) {
		if (mutf7_encode(dec, &enc) != 0)
			abort();	/* decoder produced something the encoder refuses */
		if (strcmp(enc, in) != 0)
			abort();	/* decode is not the inverse of encode */
		free(enc);
		enc = NULL;
		free(dec);
	}

	rc = mutf7_encode(in, &enc);
	if (rc != 0 && rc != -EILSEQ)
		abort();
	if (rc == 0) {
		if (mutf7_decode(enc, &back) != 0)
			abort();	/* encoder wrote non-canonical mUTF-7 */
		if (strcmp(back, in) != 0)
			abort();
		free(back);
		free(enc);
	}
	free(in);
	return 0;
}
