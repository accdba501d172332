/* floor_ll.h: what floor_ll.c (the tree, files, the loop) and
 * floor_xattr.c (extended attributes) share. See floor_ll.c. */
#ifndef FLOOR_LL_H
#define FLOOR_LL_H
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <sys/stat.h>
#include <time.h>

#define TIMEOUT 3600.0

struct xattr {
  struct xattr *next;
  char *name;
  char *value;
  size_t len;
};

struct node {
  fuse_ino_t parent;
  char *name;
  struct stat st;      /* st_ino, mode, uid, gid, size, times */
  char *data;          /* a file's bytes, a symlink's target */
  size_t cap;
  struct xattr *xattrs;
  uint64_t lookups;
  int linked;
  struct node *hnext;  /* in the (parent, name) table */
  struct node *inext;  /* in the inode table */
  struct node *child;  /* a directory's entries, a list (readdir only) */
  struct node *sibling;
  struct node **sprev; /* what points at this node in that list: unlinks in O(1) */
};

extern struct fuse_session *session;
struct node *find_ino(fuse_ino_t ino);
struct timespec now(void);

void floor_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                    int flags);
void floor_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void floor_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void floor_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
void free_xattrs(struct node *n);

#endif
