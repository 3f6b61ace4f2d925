/*
 * tls_ctx — the OpenSSL context every IMAP connection of an account
 * shares (implemented in tls.c): the trusted CAs and the TLS settings.
 * A header of its own, without libetpan, so that the engine (vfs.c) can
 * make and free the context without seeing the transport's types.
 *
 * Ownership: tls_ctx_new's context is the caller's, freed with
 * tls_ctx_free after the last session that uses it is closed. It is
 * read-only once made, so sessions share it without a lock.
 * Internal to src/.
 */
#ifndef IMAPFS_TLS_CTX_H
#define IMAPFS_TLS_CTX_H

struct tls_ctx;

/* Build the shared OpenSSL context: system CAs, or only CAFILE if given. */
int tls_ctx_new(const char *cafile, struct tls_ctx **out, char *err, unsigned errlen);
void tls_ctx_free(struct tls_ctx *t);

#endif
