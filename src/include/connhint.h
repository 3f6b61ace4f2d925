/*
 * connhint — connection errors that say the fix. The messages built in
 * tcp.c, tls.c and session_login.c say what went wrong; these functions add
 * what the user can do about it (a URL of the other kind, -o cafile=, the
 * CA store), and find out the one thing that cannot be seen from a single
 * failure: that an imap:// URL points at a port that speaks TLS from the
 * first byte, where the server waits for us and we wait for it.
 *
 * Nothing here weakens a check: verification stays OpenSSL's, and the
 * probe below never sends more than a TLS ClientHello.
 *
 * This public header holds what fs/ calls (the cafile check, run before the
 * password prompt); the hints the connection code adds to its own errors
 * are internal to src/ (connhint_int.h).
 */
#ifndef IMAPFS_CONNHINT_H
#define IMAPFS_CONNHINT_H

/* Refuse a cafile that cannot be read: -errno with "cannot read cafile
 * PATH: reason" in ERR, else 0. Run before connecting (and prompting). */
int connhint_cafile(const char *path, char *err, unsigned errlen);

#endif
