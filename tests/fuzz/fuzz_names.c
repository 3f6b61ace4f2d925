/*
 * fuzz_names — libFuzzer target for the mailbox-component <-> file-name
 * mapping (src/names.c). A lossy or ambiguous mapping would make a rename
 * or rmdir act on the wrong mailbox, so the round trips are asserted with
 * abort():
 *  - any server component X (no NUL): names_to_fs(X) succeeds, gives a
 *    name a directory entry can hold (non-empty, no '/', not "." or "..",
 *    valid UTF-8 as names_from_fs checks it), never a reserved name
 *    (N.eml, .search), and names_from_fs of it is X;
 *  - any file name F: names_from_fs(F) never crashes; when it gives a
 *    component C, names_to_fs(C) is F again (the mailbox mkdir makes from
 *    F is shown as F), and so maps back to C.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_component(const char *x)
{
	char *fs = NULL, *back = NULL;

	if (names_to_fs(x, &fs) != 0)
		abort();	/* "never fails on any server input" */
	if (fs[0] == '\0' || strchr(fs, '/') != NULL || strcmp(fs, ".") == 0 ||
	    strcmp(fs, "..") == 0)
		abort();	/* not a possible directory entry name */
	if (names_reserved(fs))
		abort();	/* would hide a message file or a view */
	if (names_from_fs(fs, &back) != 0)
		abort();	/* our own file name is refused */
	if (strcmp(back, x) != 0)
		abort();	/* names_from_fs(names_to_fs(x)) != x */
	free(back);
	free(fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *comp = NULL;
	int rc;

	in = malloc(size + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';

	/* as a server component */
	check_component(in);

	/* as a file name */
	rc = names_from_fs(in, &comp);
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc == 0) {
		char *fs = NULL, *again = NULL;

		if (names_to_fs(comp, &fs) != 0)
			abort();
		if (strcmp(fs, in) != 0)
			abort();	/* F is taken but shown otherwise */
		if (names_from_fs(fs, &again) != 0)
			abort();	/* the name we show for C is refused */
		if (strcmp(again, comp) != 0)
			abort();
		free(again);
		free(fs);
		free(comp);
	}
	free(in);
	return 0;
}
