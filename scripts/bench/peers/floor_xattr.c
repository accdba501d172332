/* floor_xattr.c: floor_ll's extended attributes (see floor_ll.c), kept per
 * node in a list. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "floor_ll.h"

/* Extended attributes, kept per node. The ACL names answer as cardfs
 * without -o acl answers: EOPNOTSUPP, but for an access ACL that says only
 * the mode, which is taken as a chmod (what cp -a sets on every file). */
#define ACL_ACCESS "system.posix_acl_access"
#define ACL_DEFAULT "system.posix_acl_default"

static struct xattr **find_xattr(struct node *n, const char *name) {
  struct xattr **p = &n->xattrs;
  while (*p && strcmp((*p)->name, name) != 0) p = &(*p)->next;
  return p;
}

static void reply_sized(fuse_req_t req, const char *data, size_t len, size_t size) {
  if (size == 0)
    fuse_reply_xattr(req, len);
  else if (len > size)
    fuse_reply_err(req, ERANGE);
  else
    fuse_reply_buf(req, data, len);
}

/* The mode bits of an ACL of owner, group and other entries only; -1 if it
 * says more (EOPNOTSUPP), -2 if it is not an ACL (EINVAL). */
static int acl_mode(const unsigned char *v, size_t len) {
  if (len < 4 || (len - 4) % 8 != 0 || v[0] != 2 || v[1] || v[2] || v[3]) return -2;
  int mode = 0;
  for (size_t i = 4; i < len; i += 8) {
    int tag = v[i] | v[i + 1] << 8, perm = v[i + 2] & 7;
    if (tag == 0x01)
      mode |= perm << 6;
    else if (tag == 0x04)
      mode |= perm << 3;
    else if (tag == 0x20)
      mode |= perm;
    else
      return -1;
  }
  return mode;
}

void floor_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                           int flags) {
  struct node *n = find_ino(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  int mode = strcmp(name, ACL_ACCESS) == 0 ? acl_mode((const unsigned char *)value, size) : 0;
  if (mode < 0 || strcmp(name, ACL_DEFAULT) == 0) return (void)fuse_reply_err(req, mode == -2 ? EINVAL : EOPNOTSUPP);
  struct xattr **p = find_xattr(n, name);
  if ((flags & XATTR_CREATE) && *p) return (void)fuse_reply_err(req, EEXIST);
  if ((flags & XATTR_REPLACE) && !*p) return (void)fuse_reply_err(req, ENODATA);
  if (!*p) {
    *p = calloc(1, sizeof **p);
    (*p)->name = strdup(name);
  }
  free((*p)->value);
  (*p)->value = malloc(size ? size : 1);
  memcpy((*p)->value, value, size);
  (*p)->len = size;
  if (strcmp(name, ACL_ACCESS) == 0) n->st.st_mode = (n->st.st_mode & ~0777) | mode;
  n->st.st_ctim = now();
  fuse_lowlevel_notify_inval_inode(session, ino, -1, 0);  /* as cardfs: the kernel's mode is stale */
  fuse_reply_err(req, 0);
}

void floor_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
  struct node *n = find_ino(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  if (strcmp(name, ACL_ACCESS) == 0 || strcmp(name, ACL_DEFAULT) == 0) return (void)fuse_reply_err(req, EOPNOTSUPP);
  struct xattr *x = *find_xattr(n, name);
  if (!x) return (void)fuse_reply_err(req, ENODATA);
  reply_sized(req, x->value, x->len, size);
}

void floor_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  struct node *n = find_ino(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  char buf[65536];
  size_t len = 0;
  for (struct xattr *x = n->xattrs; x; x = x->next) {
    size_t l = strlen(x->name) + 1;
    if (len + l > sizeof buf) return (void)fuse_reply_err(req, E2BIG);
    memcpy(buf + len, x->name, l);
    len += l;
  }
  reply_sized(req, buf, len, size);
}

void floor_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name) {
  struct node *n = find_ino(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  struct xattr **p = find_xattr(n, name), *x = *p;
  if (!x) return (void)fuse_reply_err(req, ENODATA);
  *p = x->next;
  free(x->name);
  free(x->value);
  free(x);
  fuse_reply_err(req, 0);
}

void free_xattrs(struct node *n) {
  while (n->xattrs) {
    struct xattr *x = n->xattrs;
    n->xattrs = x->next;
    free(x->name);
    free(x->value);
    free(x);
  }
}
