/*
 * push — store message bodies from the disk cache into the kernel's page
 * cache ahead of a reader going through a folder, from a thread of its
 * own, so that the reader's reads ask imapfs for nothing (push.c says
 * how).
 *
 * Ownership: push_start returns a struct freed by push_stop, which must
 * be called after the session loop has ended and before the fuse_session
 * and the vfs are destroyed. push_note and push_count are thread-safe;
 * all three accept NULL (no pushing).
 */
#ifndef IMAPFS_PUSH_H
#define IMAPFS_PUSH_H

#include <stdbool.h>
#include <stdint.h>

struct fuse_session;
struct push;
struct vfs;
struct vfs_file;

/* Bodies larger than MAX bytes are left to the kernel's reads. */
int push_start(struct fuse_session *se, struct vfs *v, uint64_t max, struct push **out);
/* A reader opened (or first read) message INO: push what follows it. */
void push_note(struct push *p, uint64_t ino);
/* Store the body of F (a message read from the disk cache, opened as
 * inode INO) into the kernel's page cache, if it has at most MAX bytes.
 * Best effort: false when not done. */
bool push_file(struct fuse_session *se, uint64_t ino, const struct vfs_file *f, uint64_t max);
/* Bodies pushed since the start. */
unsigned long push_count(struct push *p);
void push_stop(struct push *p);

#endif
