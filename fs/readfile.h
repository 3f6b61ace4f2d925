/*
 * readfile — the bytes of a message to the kernel, for a READ of a file
 * opened with OPEN (readfile_reply) or of one the kernel opened without
 * us (readfile_stateless: read-only mounts, see op_open in ops.c).
 *
 * Ownership: the files readfile_stateless opens are its own, kept for
 * the next READs of the same message and released by it, or at the end
 * by readfile_release_all (after the session loop has ended). One mount
 * per process: the kept files are this file's static state.
 */
#ifndef IMAPFS_READFILE_H
#define IMAPFS_READFILE_H

#include "ops.h"

/* SIZE bytes at OFF of F (attached: vfs_file_attach) as the reply to REQ. */
void readfile_reply(struct imapfs *fs, fuse_req_t req, struct vfs_file *f, size_t size, off_t off);
/* The same for inode INO, opened by the kernel without OPEN (fh 0). */
void readfile_stateless(struct imapfs *fs, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off);
void readfile_release_all(struct imapfs *fs);

#endif
