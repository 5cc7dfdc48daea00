/* kraftsim: a simulated disk (simfs.h has the model). Small and slow on purpose: a few
 * files per node, linear searches, whole pages copied. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "simfs.h"

#define PATH_LEN 96
#define HANDLES 64

struct inode {
	bool used, dir;
	uint8_t *cur;	/* what reads see */
	uint8_t *dur;	/* what the disk holds */
	uint8_t *dirty; /* per page: cur may differ from dur */
	uint64_t cur_len, dur_len;
	uint64_t cap; /* bytes of cur and dur, a whole number of pages */
};

struct entry {
	char path[PATH_LEN];
	int ino;
};

struct names {
	struct entry *e;
	uint32_t n, cap;
};

enum { OP_ADD = 1, OP_DEL, OP_REN };

/* A change to a directory's entries not yet synced. */
struct dirop {
	int kind;
	char dir[PATH_LEN];
	char a[PATH_LEN], b[PATH_LEN];
	int ino;
};

struct handle {
	bool used;
	int ino;
	char path[PATH_LEN];
};

struct simfs {
	struct kr_fs fs;
	uint64_t *rng;
	struct inode *ino;
	uint32_t n_ino;
	struct names seen, held;
	struct dirop *ops;
	uint32_t n_ops, ops_cap;
	struct handle h[HANDLES];
	int64_t budget;
	enum simfs_fault armed;
	bool full;
	double p_short;
	uint32_t damaged;
};

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "kraftsim: out of memory\n");
		exit(2);
	}
	return p;
}

static uint64_t
rnd(struct simfs *f, uint64_t n)
{
	return n ? sim_rand(f->rng) % n : 0;
}

static uint64_t
pages(uint64_t len)
{
	return (len + SIMFS_PAGE - 1) / SIMFS_PAGE;
}

/* ---- paths and names ---- */

/* The directory holding path, into out (PATH_LEN bytes; cut to fit). */
static void
parent_of(const char *path, char out[PATH_LEN])
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(out, PATH_LEN, ".");
	else if (slash == path)
		snprintf(out, PATH_LEN, "/");
	else
		snprintf(out, PATH_LEN, "%.*s", (int)(slash - path), path);
}

static bool
is_segment(const char *path)
{
	size_t n = strlen(path);

	return n > 4 && strcmp(path + n - 4, ".log") == 0;
}

static int
names_find(const struct names *ns, const char *path)
{
	for (uint32_t i = 0; i < ns->n; i++)
		if (strcmp(ns->e[i].path, path) == 0)
			return (int)i;
	return -1;
}

static void
names_set(struct names *ns, const char *path, int ino)
{
	int k = names_find(ns, path);

	if (k >= 0) {
		ns->e[k].ino = ino;
		return;
	}
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 32;
		ns->e = xrealloc(ns->e, ns->cap * sizeof(*ns->e));
	}
	snprintf(ns->e[ns->n].path, PATH_LEN, "%s", path);
	ns->e[ns->n++].ino = ino;
}

static void
names_del(struct names *ns, const char *path)
{
	int k = names_find(ns, path);

	if (k >= 0)
		ns->e[k] = ns->e[--ns->n];
}

/* The inode path names as seen, or -1. The root always exists (inode 0). */
static int
lookup(const struct simfs *f, const char *path)
{
	int k;

	if (strcmp(path, "/") == 0)
		return 0;
	k = names_find(&f->seen, path);
	return k < 0 ? -1 : f->seen.e[k].ino;
}

/* ---- inodes ---- */

static int
inode_new(struct simfs *f, bool dir)
{
	uint32_t i;

	for (i = 1; i < f->n_ino && f->ino[i].used; i++)
		;
	if (i >= f->n_ino) {
		f->ino = xrealloc(f->ino, (i + 1) * sizeof(*f->ino));
		f->n_ino = i + 1;
	}
	memset(&f->ino[i], 0, sizeof(f->ino[i]));
	f->ino[i].used = true;
	f->ino[i].dir = dir;
	return (int)i;
}

static void
inode_free(struct inode *in)
{
	free(in->cur);
	free(in->dur);
	free(in->dirty);
	memset(in, 0, sizeof(*in));
}

static void
inode_room(struct inode *in, uint64_t len)
{
	uint64_t cap = pages(len) * SIMFS_PAGE;

	if (cap <= in->cap)
		return;
	cap = cap < 2 * in->cap ? 2 * in->cap : cap;
	in->cur = xrealloc(in->cur, cap);
	in->dur = xrealloc(in->dur, cap);
	in->dirty = xrealloc(in->dirty, cap / SIMFS_PAGE);
	memset(in->cur + in->cap, 0, cap - in->cap);
	memset(in->dur + in->cap, 0, cap - in->cap);
	memset(in->dirty + in->cap / SIMFS_PAGE, 0, (cap - in->cap) / SIMFS_PAGE);
	in->cap = cap;
}

static void
mark(struct inode *in, uint64_t from, uint64_t to)
{
	for (uint64_t p = from / SIMFS_PAGE; p < pages(to); p++)
		in->dirty[p] = 1;
}

/* ---- the process's life ---- */

/* A mutating operation: false once the process is dead. */
static bool
alive(struct simfs *f)
{
	if (f->budget == 0)
		return false;
	if (f->budget > 0)
		f->budget--;
	return true;
}

static struct inode *
handle_inode(struct simfs *f, int h)
{
	if (h < 0 || h >= HANDLES || !f->h[h].used)
		return NULL;
	return &f->ino[f->h[h].ino];
}

static void
dirop(struct simfs *f, int kind, const char *a, const char *b, int ino)
{
	struct dirop *o;

	if (f->n_ops == f->ops_cap) {
		f->ops_cap = f->ops_cap ? f->ops_cap * 2 : 32;
		f->ops = xrealloc(f->ops, f->ops_cap * sizeof(*f->ops));
	}
	o = &f->ops[f->n_ops++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	parent_of(a, o->dir);
	snprintf(o->a, PATH_LEN, "%s", a);
	if (b != NULL)
		snprintf(o->b, PATH_LEN, "%s", b);
	o->ino = ino;
}

static void
dirop_apply(struct simfs *f, const struct dirop *o)
{
	switch (o->kind) {
	case OP_ADD:
		names_set(&f->held, o->a, o->ino);
		break;
	case OP_DEL:
		names_del(&f->held, o->a);
		break;
	default:
		names_del(&f->held, o->a);
		names_set(&f->held, o->b, o->ino);
		break;
	}
}

/* ---- the operations ---- */

static int
sf_open(void *ctx, const char *path, unsigned flags)
{
	struct simfs *f = ctx;
	int ino, h;
	char dir[PATH_LEN];

	if (strlen(path) >= PATH_LEN)
		return -ENAMETOOLONG;
	if (f->budget == 0)
		return -EIO;
	ino = lookup(f, path);
	if (flags & KR_FS_DIR) {
		if (ino < 0)
			return -ENOENT;
		if (!f->ino[ino].dir)
			return -ENOTDIR;
	} else if (ino < 0) {
		if (!(flags & KR_FS_CREATE))
			return -ENOENT;
		parent_of(path, dir);
		if (lookup(f, dir) < 0 || !f->ino[lookup(f, dir)].dir)
			return -ENOENT;
		if (!alive(f))
			return -EIO;
		ino = inode_new(f, false);
		names_set(&f->seen, path, ino);
		dirop(f, OP_ADD, path, NULL, ino);
	} else if (f->ino[ino].dir) {
		return -EISDIR;
	}
	for (h = 0; h < HANDLES && f->h[h].used; h++)
		;
	if (h == HANDLES)
		return -EMFILE;
	if ((flags & KR_FS_TRUNC) && !(flags & KR_FS_DIR) && f->ino[ino].cur_len > 0) {
		struct inode *in = &f->ino[ino];

		if (!alive(f))
			return -EIO;
		mark(in, 0, in->cur_len);
		memset(in->cur, 0, in->cur_len);
		in->cur_len = 0;
	}
	f->h[h] = (struct handle){.used = true, .ino = ino};
	snprintf(f->h[h].path, PATH_LEN, "%s", path);
	return h;
}

static void
sf_close(void *ctx, int h)
{
	struct simfs *f = ctx;

	if (h >= 0 && h < HANDLES)
		f->h[h].used = false;
}

static int64_t
sf_pread(void *ctx, int h, void *buf, size_t len, uint64_t off)
{
	struct simfs *f = ctx;
	struct inode *in = handle_inode(f, h);

	if (in == NULL)
		return -EBADF;
	if (f->budget == 0)
		return -EIO;
	if (off >= in->cur_len)
		return 0;
	if (len > in->cur_len - off)
		len = (size_t)(in->cur_len - off);
	memcpy(buf, in->cur + off, len);
	return (int64_t)len;
}

static int64_t
sf_pwrite(void *ctx, int h, const void *buf, size_t len, uint64_t off)
{
	struct simfs *f = ctx;
	struct inode *in = handle_inode(f, h);

	if (in == NULL)
		return -EBADF;
	if (!alive(f))
		return -EIO;
	if (f->full)
		return -ENOSPC;
	if (len > 1 && f->p_short > 0 && (double)rnd(f, 1u << 20) < f->p_short * (1u << 20))
		len = 1 + (size_t)rnd(f, len - 1);
	inode_room(in, off + len);
	if (off > in->cur_len)
		mark(in, in->cur_len, off); /* a hole: zeros */
	memcpy(in->cur + off, buf, len);
	mark(in, off, off + len);
	if (off + len > in->cur_len)
		in->cur_len = off + len;
	return (int64_t)len;
}

static int
sf_truncate(void *ctx, int h, uint64_t len)
{
	struct simfs *f = ctx;
	struct inode *in = handle_inode(f, h);

	if (in == NULL)
		return -EBADF;
	if (!alive(f))
		return -EIO;
	inode_room(in, len);
	if (len < in->cur_len) {
		memset(in->cur + len, 0, in->cur_len - len);
		mark(in, len, in->cur_len);
	} else {
		mark(in, in->cur_len, len);
	}
	in->cur_len = len;
	return 0;
}

static int
sf_sync(void *ctx, int h)
{
	struct simfs *f = ctx;
	struct inode *in = handle_inode(f, h);

	if (in == NULL)
		return -EBADF;
	if (!alive(f))
		return -EIO;
	if (f->armed == SIMFS_SYNC_FAILS && is_segment(f->h[h].path)) {
		bool dirty = false;

		for (uint64_t p = 0; p < in->cap / SIMFS_PAGE && !dirty; p++)
			dirty = in->dirty[p];
		if (dirty) {
			/* the kernel marks the pages clean and forgets them: reads still see
			 * them, the disk never will */
			memset(in->dirty, 0, in->cap / SIMFS_PAGE);
			f->armed = 0;
			return -EIO;
		}
	}
	/* the disk now holds cur's length and pages */
	in->dur_len = in->cur_len;
	for (uint64_t p = 0; p < in->cap / SIMFS_PAGE; p++) {
		if (!in->dirty[p])
			continue;
		in->dirty[p] = 0;
		memcpy(in->dur + p * SIMFS_PAGE, in->cur + p * SIMFS_PAGE, SIMFS_PAGE);
	}
	return 0;
}

static int
sf_sync_dir(void *ctx, int h)
{
	struct simfs *f = ctx;
	uint32_t k = 0;

	if (h < 0 || h >= HANDLES || !f->h[h].used)
		return -EBADF;
	if (!alive(f))
		return -EIO;
	for (uint32_t i = 0; i < f->n_ops; i++) {
		if (strcmp(f->ops[i].dir, f->h[h].path) == 0)
			dirop_apply(f, &f->ops[i]);
		else
			f->ops[k++] = f->ops[i];
	}
	f->n_ops = k;
	return 0;
}

static int64_t
sf_size(void *ctx, int h)
{
	struct simfs *f = ctx;
	struct inode *in = handle_inode(f, h);

	if (in == NULL)
		return -EBADF;
	return (int64_t)in->cur_len;
}

static int
sf_stat(void *ctx, const char *path, bool *is_dir, uint64_t *len)
{
	struct simfs *f = ctx;
	int ino = lookup(f, path);

	if (f->budget == 0)
		return -EIO;
	if (ino < 0)
		return -ENOENT;
	*is_dir = f->ino[ino].dir;
	*len = f->ino[ino].cur_len;
	return 0;
}

static int
sf_rename(void *ctx, const char *from, const char *to)
{
	struct simfs *f = ctx;
	int ino = lookup(f, from);

	if (ino < 0)
		return -ENOENT;
	if (strlen(to) >= PATH_LEN)
		return -ENAMETOOLONG;
	if (!alive(f))
		return -EIO;
	names_del(&f->seen, from);
	names_set(&f->seen, to, ino);
	dirop(f, OP_REN, from, to, ino);
	return 0;
}

static int
sf_unlink(void *ctx, const char *path)
{
	struct simfs *f = ctx;
	int ino = lookup(f, path);

	if (ino < 0)
		return -ENOENT;
	if (f->ino[ino].dir)
		return -EISDIR;
	if (!alive(f))
		return -EIO;
	names_del(&f->seen, path);
	dirop(f, OP_DEL, path, NULL, ino);
	return 0;
}

static int
sf_mkdir(void *ctx, const char *path)
{
	struct simfs *f = ctx;
	char dir[PATH_LEN];
	int ino;

	if (strlen(path) >= PATH_LEN)
		return -ENAMETOOLONG;
	if (lookup(f, path) >= 0)
		return -EEXIST;
	parent_of(path, dir);
	if (lookup(f, dir) < 0)
		return -ENOENT;
	if (!alive(f))
		return -EIO;
	ino = inode_new(f, true);
	names_set(&f->seen, path, ino);
	dirop(f, OP_ADD, path, NULL, ino);
	return 0;
}

static int
sf_list(void *ctx, const char *dir, int (*each)(void *arg, const char *name), void *arg)
{
	struct simfs *f = ctx;
	char parent[PATH_LEN];
	int rc;

	if (f->budget == 0)
		return -EIO;
	if (lookup(f, dir) < 0)
		return -ENOENT;
	for (uint32_t i = 0; i < f->seen.n; i++) {
		parent_of(f->seen.e[i].path, parent);
		if (strcmp(parent, dir) != 0)
			continue;
		rc = each(arg, strrchr(f->seen.e[i].path, '/') + 1);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static const struct kr_fs_ops sim_ops = {
	.open = sf_open,
	.close = sf_close,
	.pread = sf_pread,
	.pwrite = sf_pwrite,
	.sync = sf_sync,
	.sync_dir = sf_sync_dir,
	.truncate = sf_truncate,
	.size = sf_size,
	.stat = sf_stat,
	.rename = sf_rename,
	.unlink = sf_unlink,
	.mkdir = sf_mkdir,
	.list = sf_list,
};

/* ---- the simulator's side ---- */

struct simfs *
simfs_new(uint64_t *rng)
{
	struct simfs *f = xrealloc(NULL, sizeof(*f));

	memset(f, 0, sizeof(*f));
	f->fs = (struct kr_fs){.ops = &sim_ops, .ctx = f};
	f->rng = rng;
	f->budget = -1;
	f->ino = xrealloc(NULL, sizeof(*f->ino)); /* inode 0: the root, never handed out */
	f->n_ino = 1;
	memset(&f->ino[0], 0, sizeof(f->ino[0]));
	f->ino[0].used = true;
	f->ino[0].dir = true;
	return f;
}

void
simfs_free(struct simfs *f)
{
	if (f == NULL)
		return;
	for (uint32_t i = 0; i < f->n_ino; i++)
		inode_free(&f->ino[i]);
	free(f->ino);
	free(f->seen.e);
	free(f->held.e);
	free(f->ops);
	free(f);
}

const struct kr_fs *
simfs_fs(struct simfs *f)
{
	return &f->fs;
}

void
simfs_set_budget(struct simfs *f, int64_t ops)
{
	f->budget = ops < 0 ? -1 : ops;
}

/* What one file's disk holds after a crash: its synced or its unsynced length, and for
 * each unsynced page either version (zeros where a version has no bytes). */
static void
crash_inode(struct simfs *f, struct inode *in)
{
	uint64_t len = in->cur_len != in->dur_len && rnd(f, 2) ? in->cur_len : in->dur_len;
	uint64_t np = pages(len);
	uint8_t *out;

	inode_room(in, len > in->cur_len ? len : in->cur_len);
	if (in->cap == 0)
		return; /* never written: nothing on either side */
	out = xrealloc(NULL, in->cap);
	memcpy(out, in->dur, in->cap);
	for (uint64_t p = 0; p < np; p++)
		if (in->dirty[p] && rnd(f, 2))
			memcpy(out + p * SIMFS_PAGE, in->cur + p * SIMFS_PAGE, SIMFS_PAGE);
	memset(out + len, 0, in->cap - len);
	free(in->dur);
	in->dur = out;
	in->dur_len = len;
	memcpy(in->cur, in->dur, in->cap);
	in->cur_len = len;
	memset(in->dirty, 0, in->cap / SIMFS_PAGE);
}

void
simfs_crash(struct simfs *f)
{
	char dir[PATH_LEN];
	bool *used = xrealloc(NULL, f->n_ino * sizeof(*used));

	/* each directory keeps a prefix of its unsynced changes */
	while (f->n_ops > 0) {
		uint32_t m = 0, keep, k = 0;

		snprintf(dir, sizeof(dir), "%s", f->ops[0].dir);
		for (uint32_t i = 0; i < f->n_ops; i++)
			m += strcmp(f->ops[i].dir, dir) == 0;
		keep = (uint32_t)rnd(f, (uint64_t)m + 1);
		for (uint32_t i = 0, seen = 0; i < f->n_ops; i++) {
			if (strcmp(f->ops[i].dir, dir) != 0) {
				f->ops[k++] = f->ops[i];
				continue;
			}
			if (seen++ < keep)
				dirop_apply(f, &f->ops[i]);
		}
		f->n_ops = k;
	}
	/* entries whose directory is gone go with it */
	for (uint32_t i = 0; i < f->held.n;) {
		parent_of(f->held.e[i].path, dir);
		if (strcmp(dir, "/") != 0 && names_find(&f->held, dir) < 0)
			f->held.e[i] = f->held.e[--f->held.n];
		else
			i++;
	}
	memset(used, 0, f->n_ino * sizeof(*used));
	used[0] = true;
	for (uint32_t i = 0; i < f->held.n; i++)
		used[f->held.e[i].ino] = true;
	for (uint32_t i = 1; i < f->n_ino; i++) {
		if (!f->ino[i].used)
			continue;
		if (!used[i])
			inode_free(&f->ino[i]);
		else if (!f->ino[i].dir)
			crash_inode(f, &f->ino[i]);
	}
	free(used);
	f->seen.n = 0;
	for (uint32_t i = 0; i < f->held.n; i++)
		names_set(&f->seen, f->held.e[i].path, f->held.e[i].ino);
	memset(f->h, 0, sizeof(f->h));
	f->budget = -1;
	f->armed = 0;
}

void
simfs_wipe(struct simfs *f)
{
	for (uint32_t i = 1; i < f->n_ino; i++)
		inode_free(&f->ino[i]);
	f->seen.n = f->held.n = f->n_ops = 0;
	memset(f->h, 0, sizeof(f->h));
	f->budget = -1;
	f->armed = 0;
	f->full = false;
}

int
simfs_corrupt(struct simfs *f, const char *path, uint64_t off, enum simfs_damage kind)
{
	int k = names_find(&f->held, path);
	struct inode *in;
	uint64_t page, np, from;

	if (k < 0)
		return -ENOENT;
	in = &f->ino[f->held.e[k].ino];
	if (off >= in->dur_len)
		return -ENOENT;
	page = off / SIMFS_PAGE;
	np = pages(in->dur_len);
	if (kind == SIMFS_PAGE_MISDIRECTED && np < 2)
		kind = SIMFS_PAGE_LOST;
	switch (kind) {
	case SIMFS_BIT_FLIP:
		in->dur[off] ^= (uint8_t)(1u << rnd(f, 8));
		break;
	case SIMFS_PAGE_LOST:
		memset(in->dur + page * SIMFS_PAGE, 0, SIMFS_PAGE);
		break;
	default:
		do
			from = rnd(f, np);
		while (from == page);
		memcpy(in->dur + page * SIMFS_PAGE, in->dur + from * SIMFS_PAGE, SIMFS_PAGE);
		break;
	}
	if (!in->dirty[page]) /* reads come from the disk unless the page is unsynced */
		memcpy(in->cur + page * SIMFS_PAGE, in->dur + page * SIMFS_PAGE, SIMFS_PAGE);
	f->damaged++;
	return 0;
}

const uint8_t *
simfs_held(const struct simfs *f, const char *path, uint64_t *len)
{
	int k = names_find(&f->held, path);

	if (k < 0)
		return NULL;
	*len = f->ino[f->held.e[k].ino].dur_len;
	return f->ino[f->held.e[k].ino].dur;
}

void
simfs_arm(struct simfs *f, enum simfs_fault fault)
{
	f->armed = fault;
}

enum simfs_fault
simfs_armed(const struct simfs *f)
{
	return f->armed;
}

void
simfs_set_full(struct simfs *f, bool full)
{
	f->full = full;
}

bool
simfs_full(const struct simfs *f)
{
	return f->full;
}

void
simfs_set_short_writes(struct simfs *f, double p)
{
	f->p_short = p;
}

uint32_t
simfs_damaged(const struct simfs *f)
{
	return f->damaged;
}

void
simfs_clear_damage(struct simfs *f)
{
	f->damaged = 0;
}
