/*
 * deadline — one time limit per file operation, per thread.
 *
 * -o timeout bounds each wait for the network, but a server that trickles
 * a byte now and then (or talks without end) never lets a single wait run
 * out. So every operation also gets absolute deadlines on CLOCK_MONOTONIC,
 * kept per thread (a FUSE request, a read-ahead fetch and the watcher each
 * run on a thread of their own), which the TLS driver honours on every
 * read, write, connect and handshake:
 *
 *   - an attempt (one checkout of a connection and what is sent on it,
 *     connecting included) may take at most `timeout` seconds;
 *   - a file operation (deadline_op_begin, one per FUSE request) may take
 *     at most twice `timeout` in all, its retry and reconnects included.
 *     The clock starts with its first attempt: time spent waiting for a
 *     free connection in the pool is not counted.
 *
 * Threads that serve no file operation (read-ahead, the watcher) set a
 * deadline per command with deadline_start. When no deadline is set, only
 * the per-wait timeout applies (as at mount).
 *
 * All state is thread-local: no locks, nothing to free.
 */
#ifndef IMAPFS_DEADLINE_H
#define IMAPFS_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t deadline_now_ms(void);

/* A new file operation begins on this thread: forget earlier deadlines;
 * its first deadline_attempt starts its clock. */
void deadline_op_begin(void);

/* An attempt begins (a connection was checked out): it may last TIMEOUT
 * seconds, and not past the end of the operation (2 x TIMEOUT after its
 * first attempt) when one is running. */
void deadline_attempt(int timeout);

/* The attempt is over (the connection was checked in): nothing is waited
 * for under its deadline any more. The operation's own deadline stays. */
void deadline_attempt_end(void);

/* Give the current attempt and operation MS more (an upload of a known
 * size: APPEND of a large message may take longer than `timeout`). */
void deadline_extend_ms(int64_t ms);

/* A thread outside any file operation: the next commands may take TIMEOUT
 * seconds from now (0: no deadline, only the per-wait timeout). */
void deadline_start(int timeout);

/* Milliseconds left before the nearest deadline (0 when it has passed),
 * or -1 when no deadline is set. */
int64_t deadline_left_ms(void);

/* WAIT_MS (the per-wait timeout; negative: none) shortened to what the
 * deadline leaves. 0 means the deadline has passed. */
int deadline_wait_ms(int wait_ms);

/* The last ETIMEDOUT on this thread came from a deadline, not from a
 * single wait running out (for log lines). Reset by deadline_attempt. */
bool deadline_expired(void);
void deadline_note_expired(void);

#endif
