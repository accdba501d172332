/*
 * floor_ll: the FUSE transport's floor (issue 23, items 2 and 3). A
 * low-level libfuse3 daemon that keeps a tree in memory and does nothing
 * else: no storage, no journal, no cache of its own, no permission checks
 * (the bench runs as root). Whatever create, stat, unlink, lookups and
 * `cp -a` / `rm -rf` of a tree cost on it is what the kernel's FUSE round
 * trips cost on this machine; cardfs's figures are read against it
 * (scripts/bench/run.sh, target "floor").
 *
 * It answers what cp -a and rm -rf need, as cardfs answers, so that the
 * kernel sends it the same requests (docs/BENCHMARKS.md counts them):
 * names, attributes (mode, owner, size, times), file bytes (kept in
 * memory: a read gives back what was written), symlinks, extended
 * attributes (kept; a POSIX access ACL that says only the mode is taken
 * as a chmod and the ACL names answer EOPNOTSUPP, as cardfs without
 * -o acl), readdirplus, access. Mounted as cardfs mounts: entries and
 * attributes trusted for an hour, negative entries too, cardfs's
 * capabilities (no writeback cache, 1 MiB writes), FOPEN_NOFLUSH and
 * keep_cache on opens, one thread (cardfs's default loop). No hard links
 * or rename: a floor, not a filesystem.
 *
 *   gcc -O2 -o floor_ll floor_ll.c floor_xattr.c $(pkg-config fuse3 --cflags --libs)
 *   floor_ll -f [-d] MOUNTPOINT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "floor_ll.h"

/* One thread serves every request: no lock. */
struct fuse_session *session;
static struct node **by_name, **by_ino;
static size_t buckets = 1 << 20;
static fuse_ino_t next_ino = 2;
static struct node root = {.parent = FUSE_ROOT_ID, .linked = 1};

static size_t name_hash(fuse_ino_t parent, const char *name) {
  uint64_t h = 1469598103934665603ull ^ parent;
  for (; *name; ++name) h = (h ^ (unsigned char)*name) * 1099511628211ull;
  return h & (buckets - 1);
}

struct node *find_ino(fuse_ino_t ino) {
  if (ino == FUSE_ROOT_ID) return &root;
  for (struct node *n = by_ino[ino & (buckets - 1)]; n; n = n->inext)
    if (n->st.st_ino == ino) return n;
  return NULL;
}

static struct node *find_name(fuse_ino_t parent, const char *name) {
  for (struct node *n = by_name[name_hash(parent, name)]; n; n = n->hnext)
    if (n->parent == parent && strcmp(n->name, name) == 0) return n;
  return NULL;
}

static void fill_attr(const struct node *n, struct stat *st) {
  *st = n->st;
  st->st_nlink = S_ISDIR(n->st.st_mode) ? 2 : 1;
  st->st_blksize = 4096;
  st->st_blocks = (n->st.st_size + 4095) / 4096 * 8;
}

/* The entry the kernel is told of; it counts as one more lookup of n. */
static struct fuse_entry_param entry_of(struct node *n) {
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  e.ino = n->st.st_ino;
  e.attr_timeout = TIMEOUT;
  e.entry_timeout = TIMEOUT;
  fill_attr(n, &e.attr);
  n->lookups++;
  return e;
}

static void reply_entry(fuse_req_t req, struct node *n) {
  struct fuse_entry_param e = entry_of(n);
  fuse_reply_entry(req, &e);
}

static void floor_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct node *n = find_name(parent, name);
  if (n) return reply_entry(req, n);
  /* A negative entry, as cardfs answers: the kernel remembers the absence. */
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  e.entry_timeout = TIMEOUT;
  fuse_reply_entry(req, &e);
}

static void unlink_name(struct node *n) {
  struct node **p = &by_name[name_hash(n->parent, n->name)];
  while (*p != n) p = &(*p)->hnext;
  *p = n->hnext;
  /* Not a walk of the directory's list: unlinking 100 000 files in the
   * order they were made walked the whole list each time (O(n^2)). */
  *n->sprev = n->sibling;
  if (n->sibling) n->sibling->sprev = n->sprev;
  n->linked = 0;
}

static void drop(struct node *n) {
  if (n->linked || n->lookups || n == &root) return;
  struct node **p = &by_ino[n->st.st_ino & (buckets - 1)];
  while (*p != n) p = &(*p)->inext;
  *p = n->inext;
  free_xattrs(n);
  free(n->data);
  free(n->name);
  free(n);
}

static void floor_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  struct node *n = find_ino(ino);
  if (n) {
    n->lookups -= nlookup < n->lookups ? nlookup : n->lookups;
    drop(n);
  }
  fuse_reply_none(req);
}

static void floor_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  struct node *n = find_ino(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  struct stat st;
  fill_attr(n, &st);
  fuse_reply_attr(req, &st, TIMEOUT);
}

struct timespec now(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t;
}

/* Grows or cuts a file's bytes to size; what grows reads as zeros. */
static int resize(struct node *n, off_t size) {
  if ((size_t)size > n->cap) {
    size_t cap = n->cap * 2 > (size_t)size ? n->cap * 2 : (size_t)size;
    char *d = realloc(n->data, cap);
    if (!d) return ENOMEM;
    n->data = d;
    n->cap = cap;
  }
  if (size > n->st.st_size) memset(n->data + n->st.st_size, 0, size - n->st.st_size);
  n->st.st_size = size;
  return 0;
}

static void floor_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                          struct fuse_file_info *fi) {
  struct node *n = find_ino(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  struct timespec t = now();
  if (to_set & FUSE_SET_ATTR_SIZE) {
    int err = S_ISREG(n->st.st_mode) ? resize(n, attr->st_size) : EINVAL;
    if (err) return (void)fuse_reply_err(req, err);
    n->st.st_mtim = t;
  }
  if (to_set & FUSE_SET_ATTR_MODE) n->st.st_mode = (n->st.st_mode & S_IFMT) | (attr->st_mode & 07777);
  if (to_set & FUSE_SET_ATTR_UID) n->st.st_uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) n->st.st_gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_ATIME) n->st.st_atim = attr->st_atim;
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) n->st.st_atim = t;
  if (to_set & FUSE_SET_ATTR_MTIME) n->st.st_mtim = attr->st_mtim;
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) n->st.st_mtim = t;
  n->st.st_ctim = (to_set & FUSE_SET_ATTR_CTIME) ? attr->st_ctim : t;
  floor_getattr(req, ino, fi);
}

static struct node *make_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  struct node *dir = find_ino(parent);
  int err = !dir || !S_ISDIR(dir->st.st_mode) ? ENOTDIR : find_name(parent, name) ? EEXIST : 0;
  struct node *n = err ? NULL : calloc(1, sizeof *n);
  if (!n) {
    fuse_reply_err(req, err ? err : ENOMEM);
    return NULL;
  }
  const struct fuse_ctx *ctx = fuse_req_ctx(req);
  n->st.st_ino = next_ino++;
  n->st.st_mode = mode;
  n->st.st_uid = ctx->uid;
  n->st.st_gid = ctx->gid;
  n->st.st_atim = n->st.st_mtim = n->st.st_ctim = now();
  n->parent = parent;
  n->name = strdup(name);
  n->linked = 1;
  size_t h = name_hash(parent, name);
  n->hnext = by_name[h];
  by_name[h] = n;
  n->inext = by_ino[n->st.st_ino & (buckets - 1)];
  by_ino[n->st.st_ino & (buckets - 1)] = n;
  n->sibling = dir->child;
  if (n->sibling) n->sibling->sprev = &n->sibling;
  n->sprev = &dir->child;
  dir->child = n;
  return n;
}

/* What cardfs's open does: no FLUSH on close, the kernel's cache kept. */
static void setup_handle(struct fuse_file_info *fi) {
  fi->noflush = 1;
  fi->keep_cache = 1;
}

static void floor_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                         struct fuse_file_info *fi) {
  struct node *n = make_node(req, parent, name, S_IFREG | (mode & 07777));
  if (!n) return;
  struct fuse_entry_param e = entry_of(n);
  setup_handle(fi);
  fuse_reply_create(req, &e, fi);
}

static void floor_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
  struct node *n = make_node(req, parent, name, mode);
  if (!n) return;
  n->st.st_rdev = rdev;
  reply_entry(req, n);
}

static void floor_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  struct node *n = make_node(req, parent, name, S_IFDIR | (mode & 07777));
  if (n) reply_entry(req, n);
}

static void floor_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name) {
  struct node *n = make_node(req, parent, name, S_IFLNK | 0777);
  if (!n) return;
  n->data = strdup(link);
  n->st.st_size = (off_t)strlen(link);
  reply_entry(req, n);
}

static void floor_readlink(fuse_req_t req, fuse_ino_t ino) {
  struct node *n = find_ino(ino);
  if (!n || !S_ISLNK(n->st.st_mode)) return (void)fuse_reply_err(req, EINVAL);
  fuse_reply_readlink(req, n->data);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, int dir) {
  struct node *n = find_name(parent, name);
  int err = 0;
  if (!n)
    err = ENOENT;
  else if (dir && !S_ISDIR(n->st.st_mode))
    err = ENOTDIR;
  else if (!dir && S_ISDIR(n->st.st_mode))
    err = EISDIR;
  else if (dir && n->child)
    err = ENOTEMPTY;
  if (!err) {
    unlink_name(n);
    drop(n);
  }
  fuse_reply_err(req, err);
}

static void floor_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) { remove_name(req, parent, name, 0); }
static void floor_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) { remove_name(req, parent, name, 1); }

static void floor_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct node *n = find_ino(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  setup_handle(fi);
  fuse_reply_open(req, fi);
}

static void floor_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  fuse_reply_open(req, fi);
}

static void floor_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  fuse_reply_err(req, 0);
}

static void floor_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  (void)mask;
  fuse_reply_err(req, find_ino(ino) ? 0 : ENOENT);
}

static void floor_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  struct node *n = find_ino(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  if (off >= n->st.st_size) return (void)fuse_reply_buf(req, NULL, 0);
  size_t left = (size_t)(n->st.st_size - off);
  fuse_reply_buf(req, n->data + off, size < left ? size : left);
}

static void floor_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                        struct fuse_file_info *fi) {
  (void)fi;
  struct node *n = find_ino(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  off_t end = off + (off_t)size;
  if (end > n->st.st_size) {
    int err = resize(n, end);
    if (err) return (void)fuse_reply_err(req, err);
  }
  memcpy(n->data + off, buf, size);
  n->st.st_mtim = n->st.st_ctim = now();
  fuse_reply_write(req, size);
}

/* readdir(plus): "." and "..", then the entries; an entry's offset is its
 * index + 1. readdirplus hands the kernel an entry per name (a lookup of
 * each), "." and ".." with ino 0 (no reference), as cardfs does. */
static void list_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus) {
  struct node *dir = find_ino(ino);
  if (!dir) return (void)fuse_reply_err(req, ENOENT);
  char *buf = malloc(size);
  size_t used = 0;
  struct node *n = dir->child;
  for (off_t i = 0; i < 2 || n; ++i) {
    if (i >= off) {
      const char *name = i == 0 ? "." : i == 1 ? ".." : n->name;
      struct fuse_entry_param e;
      memset(&e, 0, sizeof e);
      e.attr.st_ino = i == 0 ? ino : i == 1 ? dir->parent : n->st.st_ino;
      e.attr.st_mode = i < 2 ? S_IFDIR : n->st.st_mode;
      size_t len = plus ? fuse_add_direntry_plus(req, buf + used, size - used, name, &e, i + 1)
                        : fuse_add_direntry(req, buf + used, size - used, name, &e.attr, i + 1);
      if (len > size - used) break;
      if (plus && i >= 2) {  /* it fits: fill the entry in, and count it */
        e = entry_of(n);
        fuse_add_direntry_plus(req, buf + used, size - used, name, &e, i + 1);
      }
      used += len;
    }
    if (i >= 2) n = n->sibling;
  }
  fuse_reply_buf(req, buf, used);
  free(buf);
}

static void floor_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  list_dir(req, ino, size, off, 0);
}

static void floor_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                              struct fuse_file_info *fi) {
  (void)fi;
  list_dir(req, ino, size, off, 1);
}

/* The capabilities cardfs negotiates (fusefs/fuse/fuse_fs.cpp, op_init),
 * so that the kernel sends the floor the requests it sends cardfs. */
static void floor_init(void *userdata, struct fuse_conn_info *conn) {
  (void)userdata;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  conn->max_write = 1u << 20;
  conn->max_readahead = 1u << 20;
  conn->time_gran = 1;
}

static const struct fuse_lowlevel_ops ops = {
    .init = floor_init,
    .lookup = floor_lookup,
    .forget = floor_forget,
    .getattr = floor_getattr,
    .setattr = floor_setattr,
    .readlink = floor_readlink,
    .mknod = floor_mknod,
    .mkdir = floor_mkdir,
    .symlink = floor_symlink,
    .unlink = floor_unlink,
    .rmdir = floor_rmdir,
    .open = floor_open,
    .read = floor_read,
    .write = floor_write,
    .release = floor_release,
    .opendir = floor_opendir,
    .readdir = floor_readdir,
    .releasedir = floor_release,
    .setxattr = floor_setxattr,
    .getxattr = floor_getxattr,
    .listxattr = floor_listxattr,
    .removexattr = floor_removexattr,
    .access = floor_access,
    .create = floor_create,
    .readdirplus = floor_readdirplus,
};

int main(int argc, char *argv[]) {
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  struct fuse_cmdline_opts opts;
  if (fuse_parse_cmdline(&args, &opts) != 0 || !opts.mountpoint) {
    fprintf(stderr, "usage: %s [-f] [-d] MOUNTPOINT\n", argv[0]);
    return 2;
  }
  root.st.st_ino = FUSE_ROOT_ID;
  root.st.st_mode = S_IFDIR | 0755;
  root.st.st_uid = getuid();
  root.st.st_gid = getgid();
  root.st.st_atim = root.st.st_mtim = root.st.st_ctim = now();
  by_name = calloc(buckets, sizeof *by_name);
  by_ino = calloc(buckets, sizeof *by_ino);
  session = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (!session || fuse_set_signal_handlers(session) != 0 || fuse_session_mount(session, opts.mountpoint) != 0)
    return 1;
  fuse_daemonize(opts.foreground);
  int rc = fuse_session_loop(session);  /* one thread, as cardfs serves by default */
  fuse_session_unmount(session);
  fuse_remove_signal_handlers(session);
  fuse_session_destroy(session);
  free(opts.mountpoint);
  fuse_opt_free_args(&args);
  return rc ? 1 : 0;
}
