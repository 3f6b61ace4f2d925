/*
 * log — the daemon's one logging path.
 *
 * Before the daemon detaches (and with -f) lines go to stderr, prefixed
 * "imapfs: "; afterwards to syslog (facility LOG_USER), or to a log file
 * when one is set (-o logfile=, or the default of logfile.c when there is
 * no syslog socket); with -f and a log file, to both. Levels are syslog's (LOG_ERR, LOG_WARNING, LOG_INFO,
 * LOG_DEBUG). Thread-safe: each line is written with one call. Secrets
 * must never be passed here; the IMAP trace (trace.c) redacts them first.
 */
#ifndef IMAPFS_LOG_H
#define IMAPFS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

void log_init(bool verbose);
/* Switch to syslog once the daemon has detached. */
void log_use_syslog(void);
/* Also write every line to FD (opened by logfile.c, O_APPEND), named
 * PATH; before any thread starts. The fd stays open until exit. */
void log_set_file(int fd, const char *path);
/* The daemon has detached (stderr is gone): the log file if one is set,
 * else syslog. Before any thread starts. */
void log_detached(void);
/* Where lines go now, one line of text for `imapfs status`. */
void log_destination(char *buf, size_t len);
/* syslog(3) writes to this socket and nowhere else (glibc's _PATH_LOG;
 * systemd links it to the journal). IMAPFS_SYSLOG_SOCKET names another
 * path to look at instead, for tests and containers. */
#define LOG_SYSLOG_SOCKET "/dev/log"
/* Whether syslog(3) has a socket to write to (LOG_SYSLOG_SOCKET). */
bool log_syslog_present(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last few LOG_ERR lines, "YYYY-MM-DD HH:MM:SS text\n" each, oldest
 * first, into BUF (always NUL-terminated); returns how many errors were
 * logged since start. Thread-safe (a small ring under its own mutex). */
unsigned long log_recent_errors(char *buf, size_t len);

/* Copy IN to OUT (always NUL-terminated) with every control byte (and
 * the UTF-8 C1 controls U+0080..U+009F) written
 * as \r, \n, \t or \xNN, cut at OUTLEN; returns the length. log_msg does
 * this to every line. */
size_t log_escape(const char *in, char *out, size_t outlen);

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
