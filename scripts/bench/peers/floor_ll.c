/*
 * floor_ll: the FUSE transport's floor for metadata operations (issue 23,
 * item 2). A low-level libfuse3 daemon that keeps names and attributes in
 * memory and does nothing else: no storage, no journal, no cache of its
 * own. Whatever create, stat, unlink and lookups cost on it is what the
 * kernel's FUSE round trips cost on this machine; cardfs's figures are read
 * against it (scripts/bench/run.sh, target "floor").
 *
 * As cardfs mounts: entries and attributes trusted for an hour, the
 * multi-threaded loop (up to 8 workers, 4 idle), cardfs's capabilities
 * (no writeback cache), no default_permissions (the bench runs as root). Files hold no data (size 0; writes are
 * refused with ENOSPC). One mutex guards everything: a floor, not a
 * filesystem.
 *
 *   gcc -O2 -o floor_ll floor_ll.c $(pkg-config fuse3 --cflags --libs)
 *   floor_ll -f MOUNTPOINT
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT 3600.0

struct node {
  fuse_ino_t ino;
  fuse_ino_t parent;
  char *name;
  mode_t mode;
  uint64_t lookups;
  int linked;
  struct node *hnext;  /* in the (parent, name) table */
  struct node *inext;  /* in the inode table */
  struct node *child;  /* a directory's entries, a list (readdir only) */
  struct node *sibling;
  struct node **sprev; /* what points at this node in that list: unlinks in O(1) */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct node **by_name, **by_ino;
static size_t buckets = 1 << 20;
static fuse_ino_t next_ino = 2;
static struct node root = {.ino = FUSE_ROOT_ID, .parent = FUSE_ROOT_ID, .mode = S_IFDIR | 0755, .linked = 1};

static size_t name_hash(fuse_ino_t parent, const char *name) {
  uint64_t h = 1469598103934665603ull ^ parent;
  for (; *name; ++name) h = (h ^ (unsigned char)*name) * 1099511628211ull;
  return h & (buckets - 1);
}

static struct node *find_ino(fuse_ino_t ino) {
  if (ino == FUSE_ROOT_ID) return &root;
  for (struct node *n = by_ino[ino & (buckets - 1)]; n; n = n->inext)
    if (n->ino == ino) return n;
  return NULL;
}

static struct node *find_name(fuse_ino_t parent, const char *name) {
  for (struct node *n = by_name[name_hash(parent, name)]; n; n = n->hnext)
    if (n->parent == parent && strcmp(n->name, name) == 0) return n;
  return NULL;
}

static void fill_attr(const struct node *n, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = n->ino;
  st->st_mode = n->mode;
  st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
  st->st_uid = getuid();
  st->st_gid = getgid();
  st->st_blksize = 4096;
}

/* The entry the kernel is told of; it counts as one more lookup of n. */
static struct fuse_entry_param entry_of(struct node *n) {
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  e.ino = n->ino;
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
  pthread_mutex_lock(&mu);
  struct node *n = find_name(parent, name);
  if (n)
    reply_entry(req, n);
  else
    fuse_reply_err(req, ENOENT);
  pthread_mutex_unlock(&mu);
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
  struct node **p = &by_ino[n->ino & (buckets - 1)];
  while (*p != n) p = &(*p)->inext;
  *p = n->inext;
  free(n->name);
  free(n);
}

static void floor_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  pthread_mutex_lock(&mu);
  struct node *n = find_ino(ino);
  if (n) {
    n->lookups -= nlookup < n->lookups ? nlookup : n->lookups;
    drop(n);
  }
  pthread_mutex_unlock(&mu);
  fuse_reply_none(req);
}

static void floor_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  pthread_mutex_lock(&mu);
  struct node *n = find_ino(ino);
  struct stat st;
  if (n) fill_attr(n, &st);
  pthread_mutex_unlock(&mu);
  if (n)
    fuse_reply_attr(req, &st, TIMEOUT);
  else
    fuse_reply_err(req, ENOENT);
}

static void floor_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                          struct fuse_file_info *fi) {
  (void)attr;
  (void)to_set;
  floor_getattr(req, ino, fi);
}

static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi) {
  pthread_mutex_lock(&mu);
  struct node *dir = find_ino(parent);
  if (!dir || !S_ISDIR(dir->mode)) {
    pthread_mutex_unlock(&mu);
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  if (find_name(parent, name)) {
    pthread_mutex_unlock(&mu);
    fuse_reply_err(req, EEXIST);
    return;
  }
  struct node *n = calloc(1, sizeof *n);
  n->ino = next_ino++;
  n->parent = parent;
  n->name = strdup(name);
  n->mode = mode;
  n->linked = 1;
  size_t h = name_hash(parent, name);
  n->hnext = by_name[h];
  by_name[h] = n;
  n->inext = by_ino[n->ino & (buckets - 1)];
  by_ino[n->ino & (buckets - 1)] = n;
  n->sibling = dir->child;
  if (n->sibling) n->sibling->sprev = &n->sibling;
  n->sprev = &dir->child;
  dir->child = n;
  struct fuse_entry_param e = entry_of(n);
  pthread_mutex_unlock(&mu);
  if (fi)
    fuse_reply_create(req, &e, fi);
  else
    fuse_reply_entry(req, &e);
}

static void floor_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                         struct fuse_file_info *fi) {
  make_node(req, parent, name, S_IFREG | (mode & 07777), fi);
}

static void floor_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
  (void)rdev;
  make_node(req, parent, name, mode, NULL);
}

static void floor_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  make_node(req, parent, name, S_IFDIR | (mode & 07777), NULL);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, int dir) {
  pthread_mutex_lock(&mu);
  struct node *n = find_name(parent, name);
  int err = 0;
  if (!n)
    err = ENOENT;
  else if (dir && !S_ISDIR(n->mode))
    err = ENOTDIR;
  else if (!dir && S_ISDIR(n->mode))
    err = EISDIR;
  else if (dir && n->child)
    err = ENOTEMPTY;
  if (!err) {
    unlink_name(n);
    drop(n);
  }
  pthread_mutex_unlock(&mu);
  fuse_reply_err(req, err);
}

static void floor_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) { remove_name(req, parent, name, 0); }
static void floor_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) { remove_name(req, parent, name, 1); }

static void floor_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  fuse_reply_open(req, fi);
}

static void floor_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  fuse_reply_err(req, 0);
}

static void floor_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)ino;
  (void)size;
  (void)off;
  (void)fi;
  fuse_reply_buf(req, NULL, 0);
}

static void floor_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                        struct fuse_file_info *fi) {
  (void)ino;
  (void)buf;
  (void)size;
  (void)off;
  (void)fi;
  fuse_reply_err(req, ENOSPC);
}

/* readdir: "." and "..", then the entries; an entry's offset is its index + 1. */
static int add_entry(fuse_req_t req, char *buf, size_t size, size_t *used, const char *name, fuse_ino_t ino,
                     mode_t mode, off_t next) {
  struct stat st;
  memset(&st, 0, sizeof st);
  st.st_ino = ino;
  st.st_mode = mode;
  size_t len = fuse_add_direntry(req, buf + *used, size - *used, name, &st, next);
  if (len > size - *used) return 0;
  *used += len;
  return 1;
}

static void floor_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  char *buf = malloc(size);
  size_t used = 0;
  pthread_mutex_lock(&mu);
  struct node *dir = find_ino(ino);
  int room = 1;
  if (off < 1) room = add_entry(req, buf, size, &used, ".", ino, S_IFDIR, 1);
  if (room && off < 2) room = add_entry(req, buf, size, &used, "..", dir ? dir->parent : ino, S_IFDIR, 2);
  off_t i = 2;
  for (struct node *n = dir ? dir->child : NULL; n && room; n = n->sibling, ++i)
    if (i >= off) room = add_entry(req, buf, size, &used, n->name, n->ino, n->mode, i + 1);
  pthread_mutex_unlock(&mu);
  fuse_reply_buf(req, buf, used);
  free(buf);
}

/* The capabilities cardfs negotiates (fusefs/fuse/fuse_fs.cpp), so that
 * the kernel sends the floor the requests it sends cardfs. */
static void floor_init(void *userdata, struct fuse_conn_info *conn) {
  (void)userdata;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  conn->time_gran = 1;
}

static const struct fuse_lowlevel_ops ops = {
    .init = floor_init,
    .lookup = floor_lookup,
    .forget = floor_forget,
    .getattr = floor_getattr,
    .setattr = floor_setattr,
    .mknod = floor_mknod,
    .mkdir = floor_mkdir,
    .unlink = floor_unlink,
    .rmdir = floor_rmdir,
    .open = floor_open,
    .read = floor_read,
    .write = floor_write,
    .release = floor_release,
    .opendir = floor_open,
    .readdir = floor_readdir,
    .releasedir = floor_release,
    .create = floor_create,
};

int main(int argc, char *argv[]) {
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  struct fuse_cmdline_opts opts;
  if (fuse_parse_cmdline(&args, &opts) != 0 || !opts.mountpoint) {
    fprintf(stderr, "usage: %s [-f] MOUNTPOINT\n", argv[0]);
    return 2;
  }
  by_name = calloc(buckets, sizeof *by_name);
  by_ino = calloc(buckets, sizeof *by_ino);
  struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (!se || fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, opts.mountpoint) != 0) return 1;
  fuse_daemonize(opts.foreground);
  struct fuse_loop_config *cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, 8);
  fuse_loop_cfg_set_idle_threads(cfg, 4);
  int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  free(opts.mountpoint);
  fuse_opt_free_args(&args);
  return rc ? 1 : 0;
}
