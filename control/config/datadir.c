/* kraftd: the data directory's identity and quorum-state files (formats in
 * include/kraft/datadir.h). The control plane owns both; nothing here resets state
 * silently: every unreadable file is an error that names it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "kraft/crc32c.h"
#include "kraft/datadir.h"
#include "kraft/fileio.h"
#include "kraft/props.h"
#include "kraft/uuid.h"

#define META_VERSION 1
#define QS_VERSION 2
#define QS_COMMENT "# kraftd quorum state: written in place, then its mirror; do not edit\n"
/* version 1 files (no sequence; replaced by rename) are read, never written */
#define QS_COMMENT_V1 "# kraftd quorum state: replaced atomically by the node; do not edit\n"
/* Both copies are always this long (padded), so an overwrite changes no metadata */
#define QS_FILE_BYTES 512
#define CRC_KEY "crc32c="
#define CRC_LINE_BYTES (sizeof(CRC_KEY) - 1 + 8 + 1) /* key, 8 hex digits, '\n' */

/* ---- identity ---- */

int
kr_identity_encode(const struct kr_identity *id, char *buf, size_t cap)
{
	char cid[KR_UUID_TEXT_LEN + 1], did[KR_UUID_TEXT_LEN + 1];
	int n;

	kr_uuid_format(id->cluster_id, cid);
	kr_uuid_format(id->directory_id, did);
	n = snprintf(buf, cap,
		     "# kraftd data directory identity, written by kraftd format\n"
		     "version=%d\n"
		     "cluster.id=%s\n"
		     "node.id=%" PRId32 "\n"
		     "directory.id=%s\n",
		     META_VERSION, cid, id->node_id, did);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

enum { META_VERSION_K, META_CLUSTER_K, META_NODE_K, META_DIR_K, META_KEYS };

struct meta_parse {
	struct kr_identity *id;
	unsigned seen;
};

static int
meta_kv(void *arg, const char *key, const char *value, unsigned line, char *err, size_t errlen)
{
	static const char *const keys[META_KEYS] = {"version", "cluster.id", "node.id",
						    "directory.id"};
	struct meta_parse *p = arg;
	int64_t v;
	int k;

	for (k = 0; k < META_KEYS && strcmp(key, keys[k]) != 0; k++)
		;
	if (k == META_KEYS) {
		snprintf(err, errlen, "line %u: unknown key '%s'", line, key);
		return -EINVAL;
	}
	if (p->seen & (1u << k)) {
		snprintf(err, errlen, "line %u: '%s' given twice", line, key);
		return -EINVAL;
	}
	p->seen |= 1u << k;
	switch (k) {
	case META_VERSION_K:
		if (kr_parse_i64(value, META_VERSION, META_VERSION, &v) != 0) {
			snprintf(err, errlen, "line %u: version '%s' (this kraftd reads %d)", line,
				 value, META_VERSION);
			return -EINVAL;
		}
		return 0;
	case META_CLUSTER_K:
	case META_DIR_K:
		if (kr_uuid_parse(value, k == META_CLUSTER_K ? p->id->cluster_id
							     : p->id->directory_id) != 0) {
			snprintf(err, errlen, "line %u: %s '%s' is not a 22-character id", line,
				 key, value);
			return -EINVAL;
		}
		return 0;
	default:
		if (kr_parse_i64(value, 0, INT32_MAX, &v) != 0) {
			snprintf(err, errlen, "line %u: node.id '%s' is not in 0..%d", line, value,
				 INT32_MAX);
			return -EINVAL;
		}
		p->id->node_id = (int32_t)v;
		return 0;
	}
}

int
kr_identity_decode(const char *text, size_t len, struct kr_identity *id, char *err, size_t errlen)
{
	struct meta_parse p = {id, 0};
	int rc;

	memset(id, 0, sizeof(*id));
	rc = kr_props_parse(text, len, meta_kv, &p, err, errlen);
	if (rc != 0)
		return -EINVAL;
	if (p.seen != (1u << META_KEYS) - 1) {
		snprintf(err, errlen, "missing %s",
			 !(p.seen & 1u << META_VERSION_K)   ? "version"
			 : !(p.seen & 1u << META_CLUSTER_K) ? "cluster.id"
			 : !(p.seen & 1u << META_NODE_K)    ? "node.id"
							    : "directory.id");
		return -EINVAL;
	}
	return 0;
}

/* ---- checksummed files (quorum-state, bootstrap-voters) ----
 * A comment line, key=value lines, then "crc32c=" and 8 hex digits of the CRC32C of
 * every byte before that line, and its newline. */

/* Append the checksum line to the n bytes of text in buf. @return the length or -ENOSPC. */
static int
seal(char *buf, size_t cap, int n)
{
	int m;

	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	m = snprintf(buf + n, cap - (size_t)n, CRC_KEY "%08" PRIx32 "\n",
		     kr_crc32c(0, buf, (size_t)n));
	if (m < 0 || (size_t)m >= cap - (size_t)n)
		return -ENOSPC;
	return n + m;
}

/* Check the comment line and the checksum of sealed text. @return the length of the
 * text before the checksum line, or -EBADMSG with err. */
static int
unseal(const char *text, size_t len, const char *comment, const char *what, char *err,
       size_t errlen)
{
	size_t clen = strlen(comment), body;
	uint32_t crc;
	char hex[9];

	if (len < clen + CRC_LINE_BYTES || memcmp(text, comment, clen) != 0) {
		snprintf(err, errlen, "not a kraftd %s file (bad first line or too short)", what);
		return -EBADMSG;
	}
	body = len - CRC_LINE_BYTES;
	if (text[body - 1] != '\n' || memcmp(text + body, CRC_KEY, sizeof(CRC_KEY) - 1) != 0 ||
	    text[len - 1] != '\n') {
		snprintf(err, errlen,
			 "the last line is not the crc32c line (file cut or extended?)");
		return -EBADMSG;
	}
	memcpy(hex, text + body + sizeof(CRC_KEY) - 1, 8);
	hex[8] = '\0';
	for (int i = 0; i < 8; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) {
			snprintf(err, errlen, "crc32c '%s' is not 8 lowercase hex digits", hex);
			return -EBADMSG;
		}
	crc = (uint32_t)strtoul(hex, NULL, 16);
	if (crc != kr_crc32c(0, text, body)) {
		snprintf(err, errlen, "checksum mismatch: the file is damaged");
		return -EBADMSG;
	}
	return (int)body;
}

/* ---- quorum state ---- */

/* The text of a copy: sequence numbers order the two copies (the higher is newer). Padded
 * with a comment line to QS_FILE_BYTES, so that every copy is as long. */
static int
qs_encode(const struct kr_quorum_state *qs, uint64_t seq, char *buf, size_t cap)
{
	char vdir[KR_UUID_TEXT_LEN + 1] = "";
	size_t body = QS_FILE_BYTES - CRC_LINE_BYTES;
	int n;

	if (!kr_uuid_is_zero(qs->voted_dir))
		kr_uuid_format(qs->voted_dir, vdir);
	n = snprintf(buf, cap,
		     QS_COMMENT "version=%d\n"
				"sequence=%" PRIu64 "\n"
				"epoch=%" PRIu32 "\n"
				"leader.id=%" PRId32 "\n"
				"voted.id=%" PRId32 "\n"
				"voted.directory.id=%s\n",
		     QS_VERSION, seq, qs->epoch, qs->leader_id, qs->voted_id, vdir);
	/* "#", blanks, newline; room for the checksum line and snprintf's NUL */
	if (n > 0 && (size_t)n + 2 <= body && QS_FILE_BYTES < cap) {
		memset(buf + n, ' ', body - (size_t)n);
		buf[n] = '#';
		buf[body - 1] = '\n';
		n = (int)body;
	}
	return seal(buf, cap, n);
}

int
kr_quorum_state_encode(const struct kr_quorum_state *qs, char *buf, size_t cap)
{
	return qs_encode(qs, 1, buf, cap);
}

enum { QS_VERSION_K, QS_SEQ_K, QS_EPOCH_K, QS_LEADER_K, QS_VOTED_K, QS_VDIR_K, QS_KEYS };

struct qs_parse {
	struct kr_quorum_state *qs;
	uint64_t seq;
	int version;
	unsigned next; /* keys come in order (version 1 has no sequence) */
};

static int
qs_kv(void *arg, const char *key, const char *value, unsigned line, char *err, size_t errlen)
{
	static const char *const keys[QS_KEYS] = {"version",   "sequence", "epoch",
						  "leader.id", "voted.id", "voted.directory.id"};
	struct qs_parse *p = arg;
	int64_t v;

	if (p->next >= QS_KEYS || strcmp(key, keys[p->next]) != 0) {
		snprintf(err, errlen, "line %u: expected '%s', found '%s'", line,
			 p->next < QS_KEYS ? keys[p->next] : "end of file", key);
		return -EBADMSG;
	}
	switch (p->next++) {
	case QS_VERSION_K:
		if (kr_parse_i64(value, 1, QS_VERSION, &v) != 0) {
			snprintf(err, errlen, "line %u: version '%s' (this kraftd reads 1 to %d)",
				 line, value, QS_VERSION);
			return -EBADMSG;
		}
		p->version = (int)v;
		if (v == 1)
			p->next++; /* no sequence line */
		return 0;
	case QS_SEQ_K:
		if (kr_parse_i64(value, 1, INT64_MAX, &v) != 0)
			break;
		p->seq = (uint64_t)v;
		return 0;
	case QS_EPOCH_K:
		if (kr_parse_i64(value, 0, UINT32_MAX, &v) != 0)
			break;
		p->qs->epoch = (uint32_t)v;
		return 0;
	case QS_LEADER_K:
	case QS_VOTED_K:
		if (kr_parse_i64(value, KR_NODE_NONE, INT32_MAX, &v) != 0)
			break;
		*(p->next - 1 == QS_LEADER_K ? &p->qs->leader_id : &p->qs->voted_id) = (int32_t)v;
		return 0;
	default:
		if (value[0] == '\0' || kr_uuid_parse(value, p->qs->voted_dir) == 0)
			return 0;
		break;
	}
	snprintf(err, errlen, "line %u: bad value '%s' for %s", line, value, key);
	return -EBADMSG;
}

/* Parse a copy: its state and sequence (0 for version 1). */
static int
qs_decode(const char *text, size_t len, struct kr_quorum_state *qs, uint64_t *seq, char *err,
	  size_t errlen)
{
	struct qs_parse p = {qs, 0, 0, 0};
	int body;

	memset(qs, 0, sizeof(*qs));
	body = unseal(text, len, QS_COMMENT, "quorum-state", err, errlen);
	if (body == -EBADMSG && len >= sizeof(QS_COMMENT_V1) - 1 &&
	    memcmp(text, QS_COMMENT_V1, sizeof(QS_COMMENT_V1) - 1) == 0)
		body = unseal(text, len, QS_COMMENT_V1, "quorum-state", err, errlen);
	if (body < 0)
		return body;
	if (kr_props_parse(text, (size_t)body, qs_kv, &p, err, errlen) != 0)
		return -EBADMSG;
	if (p.next != QS_KEYS) {
		snprintf(err, errlen, "incomplete: no '%s' line",
			 p.next == QS_VERSION_K	 ? "version"
			 : p.next == QS_SEQ_K	 ? "sequence"
			 : p.next == QS_EPOCH_K	 ? "epoch"
			 : p.next == QS_LEADER_K ? "leader.id"
			 : p.next == QS_VOTED_K	 ? "voted.id"
						 : "voted.directory.id");
		return -EBADMSG;
	}
	*seq = p.seq;
	return 0;
}

int
kr_quorum_state_decode(const char *text, size_t len, struct kr_quorum_state *qs, char *err,
		       size_t errlen)
{
	uint64_t seq;

	return qs_decode(text, len, qs, &seq, err, errlen);
}

/* ---- bootstrap voters ---- */

#define BOOT_VERSION 1
#define BOOT_COMMENT                                                                             \
	"# kraftd bootstrap voters: the voter set this cluster started with, written by kraftd " \
	"format; do not edit\n"

int
kr_bootstrap_encode(const struct kr_voter_set *s, char *buf, size_t cap)
{
	char list[KR_VOTERS_TEXT_MAX + 1];

	if (kr_voters_format(s, true, list, sizeof(list)) < 0)
		return -ENOSPC;
	return seal(buf, cap,
		    snprintf(buf, cap, BOOT_COMMENT "version=%d\nvoters=%s\n", BOOT_VERSION, list));
}

struct boot_parse {
	struct kr_voter_set *s;
	unsigned next;
};

static int
boot_kv(void *arg, const char *key, const char *value, unsigned line, char *err, size_t errlen)
{
	static const char *const keys[] = {"version", "voters"};
	struct boot_parse *p = arg;
	int64_t v;

	if (p->next >= KR_ARRAY_SIZE(keys) || strcmp(key, keys[p->next]) != 0) {
		snprintf(err, errlen, "line %u: expected '%s', found '%s'", line,
			 p->next < KR_ARRAY_SIZE(keys) ? keys[p->next] : "end of file", key);
		return -EBADMSG;
	}
	if (p->next++ == 0) {
		if (kr_parse_i64(value, BOOT_VERSION, BOOT_VERSION, &v) == 0)
			return 0;
		snprintf(err, errlen, "line %u: version '%s' (this kraftd reads %d)", line, value,
			 BOOT_VERSION);
		return -EBADMSG;
	}
	return kr_voters_parse(value, true, "voters", p->s, err, errlen) == 0 ? 0 : -EBADMSG;
}

int
kr_bootstrap_decode(const char *text, size_t len, struct kr_voter_set *s, char *err, size_t errlen)
{
	struct boot_parse p = {s, 0};
	int body;

	memset(s, 0, sizeof(*s));
	body = unseal(text, len, BOOT_COMMENT, "bootstrap-voters", err, errlen);
	if (body < 0)
		return body;
	if (kr_props_parse(text, (size_t)body, boot_kv, &p, err, errlen) != 0)
		return -EBADMSG;
	if (p.next != 2) {
		snprintf(err, errlen, "incomplete: no '%s' line",
			 p.next == 0 ? "version" : "voters");
		return -EBADMSG;
	}
	return 0;
}

/* ---- the quorum state's two copies ----
 * Every change is written in place into quorum-state, synced, then into
 * quorum-state.mirror, synced: two data syncs of one page, where a rename costs two syncs
 * and a journal commit (0.13 against 0.75 ms here: several of them lie on a failover's
 * path). Both copies hold every state the node acted on, so one copy torn by a crash
 * (the one being written), damaged on disk or left behind by a lost write still leaves
 * the newest state in the other; the reader takes the valid copy with the higher
 * sequence. Before the primary is overwritten the mirror is brought level with it if it
 * is not (a version-1 directory, which has no mirror; a crash between the two writes). */

struct qs_copy {
	int rc; /* 0: valid; -ENOENT, -EBADMSG or -errno */
	struct kr_quorum_state qs;
	uint64_t seq;
	char why[200];
};

static void
qs_read(const struct kr_fs *fs, const char *dir, const char *name, struct qs_copy *c)
{
	char buf[KR_DATADIR_FILE_MAX];
	int n = kr_read_file(fs, dir, name, buf, sizeof(buf));

	c->seq = 0;
	if (n < 0) {
		c->rc = n;
		snprintf(c->why, sizeof(c->why), "%s",
			 n == -EFBIG ? "larger than a quorum-state file" : strerror(-n));
		return;
	}
	c->rc = qs_decode(buf, (size_t)n, &c->qs, &c->seq, c->why, sizeof(c->why));
}

/* Overwrite dir/name from byte 0 with text and sync it (a file it creates: the directory
 * too). */
static int
qs_write(const struct kr_fs *fs, const char *dir, const char *name, const char *text, size_t len)
{
	char path[PATH_MAX];
	bool is_dir;
	uint64_t flen = 0;
	bool created;
	int h, rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	created = fs->ops->stat(fs->ctx, path, &is_dir, &flen) == -ENOENT;
	h = fs->ops->open(fs->ctx, path, KR_FS_RDWR | KR_FS_CREATE);
	if (h < 0)
		return h;
	rc = kr_write_full(fs, h, text, len, 0);
	if (rc == 0 && flen > len)
		rc = fs->ops->truncate(fs->ctx, h, len);
	if (rc == 0)
		rc = fs->ops->sync(fs->ctx, h);
	fs->ops->close(fs->ctx, h);
	if (rc == 0 && created)
		rc = kr_fsync_dir(fs, dir);
	return rc;
}

int
kr_quorum_state_store(const struct kr_fs *fs, const char *dir, const struct kr_quorum_state *qs,
		      char *err, size_t errlen)
{
	char text[KR_DATADIR_FILE_MAX];
	struct qs_copy p, m;
	const char *name = KR_QUORUM_STATE_FILE;
	uint64_t seq;
	int n, rc;

	fs = kr_fs_or_posix(fs);
	qs_read(fs, dir, KR_QUORUM_STATE_FILE, &p);
	qs_read(fs, dir, KR_QUORUM_MIRROR_FILE, &m);
	if (p.rc == -ENOENT) {
		/* a new directory (kraftd format): the primary is created whole, by rename */
		n = qs_encode(qs, 1, text, sizeof(text));
		rc = n < 0 ? n : kr_write_file_atomic(fs, dir, name, text, (size_t)n);
		if (rc == 0)
			rc = qs_write(fs, dir, name = KR_QUORUM_MIRROR_FILE, text, (size_t)n);
		goto out;
	}
	if (p.rc != 0 && m.rc != 0) {
		snprintf(err, errlen, "%s/%s: no copy of the quorum state to keep: %s; %s: %s", dir,
			 KR_QUORUM_STATE_FILE, p.why, KR_QUORUM_MIRROR_FILE, m.why);
		return p.rc;
	}
	seq = (p.rc == 0 && p.seq > m.seq ? p.seq : m.seq) + 1;
	if (p.rc == 0 && !(m.rc == 0 && m.seq >= p.seq)) {
		/* the mirror first holds what the primary holds, so tearing the primary below
		 * loses nothing */
		n = qs_encode(&p.qs, seq++, text, sizeof(text));
		rc = n < 0 ? n : qs_write(fs, dir, name = KR_QUORUM_MIRROR_FILE, text, (size_t)n);
		if (rc != 0)
			goto out;
	}
	n = qs_encode(qs, seq, text, sizeof(text));
	rc = n < 0 ? n : qs_write(fs, dir, name = KR_QUORUM_STATE_FILE, text, (size_t)n);
	if (rc == 0)
		rc = qs_write(fs, dir, name = KR_QUORUM_MIRROR_FILE, text, (size_t)n);
out:
	if (rc != 0)
		snprintf(err, errlen, "write %s/%s: %s", dir, name,
			 rc == -ENOSPC && n < 0 ? "state too large to encode" : strerror(-rc));
	return rc;
}

/* Read dir/name into buf, with an error naming the file. */
static int
read_named(const struct kr_fs *fs, const char *dir, const char *name, char *buf, size_t cap,
	   const char *what, char *err, size_t errlen)
{
	int n = kr_read_file(fs, dir, name, buf, cap);

	if (n == -ENOENT)
		snprintf(err, errlen, "%s/%s: missing (%s)", dir, name, what);
	else if (n == -EFBIG)
		snprintf(err, errlen, "%s/%s: larger than %d bytes; not a kraftd file", dir, name,
			 KR_DATADIR_FILE_MAX);
	else if (n < 0)
		snprintf(err, errlen, "%s/%s: cannot read: %s", dir, name, strerror(-n));
	return n;
}

int
kr_quorum_state_load(const struct kr_fs *fs, const char *dir, struct kr_quorum_state *qs, char *err,
		     size_t errlen)
{
	struct qs_copy p, m;

	fs = kr_fs_or_posix(fs);
	qs_read(fs, dir, KR_QUORUM_STATE_FILE, &p);
	if (p.rc == -ENOENT) {
		snprintf(err, errlen,
			 "%s/%s: missing (kraftd format writes it; a formatted directory without "
			 "it has lost its vote and epoch)",
			 dir, KR_QUORUM_STATE_FILE);
		return p.rc;
	}
	qs_read(fs, dir, KR_QUORUM_MIRROR_FILE, &m);
	if (p.rc != 0 && m.rc != 0) {
		snprintf(err, errlen, "%s/%s: %s: %s; %s: %s", dir, KR_QUORUM_STATE_FILE,
			 p.rc == -EBADMSG ? "corrupt" : "cannot read", p.why, KR_QUORUM_MIRROR_FILE,
			 m.rc == -ENOENT ? "missing" : m.why);
		return p.rc == -EBADMSG || p.rc == -EFBIG ? -EBADMSG : p.rc;
	}
	*qs = p.rc == 0 && !(m.rc == 0 && m.seq > p.seq) ? p.qs : m.qs;
	return 0;
}

int
kr_bootstrap_load(const struct kr_fs *fs, const char *dir, struct kr_voter_set *set, char *err,
		  size_t errlen)
{
	char buf[KR_DATADIR_FILE_MAX], why[300];
	int n = read_named(fs, dir, KR_BOOTSTRAP_FILE, buf, sizeof(buf),
			   "formatted before voters had directory ids", err, errlen);

	if (n < 0) {
		memset(set, 0, sizeof(*set));
		return n; /* -ENOENT: the caller runs with static voters */
	}
	if (kr_bootstrap_decode(buf, (size_t)n, set, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s/%s: corrupt: %s", dir, KR_BOOTSTRAP_FILE, why);
		return -EBADMSG;
	}
	return 0;
}

int
kr_identity_store(const struct kr_fs *fs, const char *dir, const struct kr_identity *id, char *err,
		  size_t errlen)
{
	char buf[KR_DATADIR_FILE_MAX];
	int n = kr_identity_encode(id, buf, sizeof(buf)), rc;

	if (n < 0) {
		snprintf(err, errlen, "%s/%s: identity too large to encode", dir, KR_META_FILE);
		return n;
	}
	rc = kr_write_file_atomic(fs, dir, KR_META_FILE, buf, (size_t)n);
	if (rc != 0)
		snprintf(err, errlen, "write %s/%s: %s", dir, KR_META_FILE, strerror(-rc));
	return rc;
}

int
kr_identity_load(const struct kr_fs *fs, const char *dir, struct kr_identity *id, char *err,
		 size_t errlen)
{
	char buf[KR_DATADIR_FILE_MAX], why[160];
	int n = read_named(fs, dir, KR_META_FILE, buf, sizeof(buf),
			   "not formatted: run kraftd format first", err, errlen);

	if (n < 0)
		return n;
	if (kr_identity_decode(buf, (size_t)n, id, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s/%s: %s", dir, KR_META_FILE, why);
		return -EINVAL;
	}
	return 0;
}

/* ---- the lock ---- */

static int
lock_open(const char *dir, int flags)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, KR_LOCK_FILE) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0644);
	return fd < 0 ? -errno : fd;
}

/* The pid written in an open lock file, or 0 if none is readable. */
static long
lock_pid(int fd)
{
	char buf[32];
	int n = kr_read_full(NULL, fd, buf, sizeof(buf) - 1, 0);
	int64_t v;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return kr_parse_i64(buf, 1, INT32_MAX, &v) == 0 ? (long)v : 0;
}

int
kr_datadir_lock(const char *dir, int *fd_out, char *err, size_t errlen)
{
	char text[32];
	int fd = lock_open(dir, O_RDWR | O_CREAT), n, rc;

	if (fd == -ENOENT) {
		snprintf(err, errlen,
			 "%s: no such directory (not formatted: run kraftd format first)", dir);
		return fd;
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s/%s: cannot open the lock file: %s", dir, KR_LOCK_FILE,
			 strerror(-fd));
		return fd;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		long pid;

		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		pid = rc == -EBUSY ? lock_pid(fd) : 0;
		close(fd);
		if (rc == -EBUSY && pid > 0)
			snprintf(err, errlen,
				 "%s is in use by another process (pid %ld holds %s/%s): one "
				 "process per data directory",
				 dir, pid, dir, KR_LOCK_FILE);
		else if (rc == -EBUSY)
			snprintf(err, errlen,
				 "%s is in use by another process (it holds %s/%s): one process "
				 "per data directory",
				 dir, dir, KR_LOCK_FILE);
		else
			snprintf(err, errlen, "%s/%s: cannot lock: %s", dir, KR_LOCK_FILE,
				 strerror(-rc));
		return rc;
	}
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	rc = ftruncate(fd, 0) != 0 ? -errno : kr_write_full(NULL, fd, text, (size_t)n, 0);
	if (rc != 0) {
		close(fd);
		snprintf(err, errlen, "%s/%s: cannot write the pid: %s", dir, KR_LOCK_FILE,
			 strerror(-rc));
		return rc;
	}
	*fd_out = fd;
	return 0;
}

int
kr_datadir_lock_holder(const char *dir)
{
	int fd = lock_open(dir, O_RDONLY), rc = 0;
	long pid;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
	} else if (errno == EWOULDBLOCK) {
		pid = lock_pid(fd);
		rc = pid > 0 ? (int)pid : -EBUSY;
	} else {
		rc = -errno;
	}
	close(fd);
	return rc;
}

/* ---- format and open ---- */

/* Does id name cluster_id and node_id? If not, say how it differs. */
static int
identity_matches(const char *dir, const struct kr_identity *id,
		 const uint8_t cluster_id[KR_UUID_BYTES], int32_t node_id, char *err, size_t errlen)
{
	char have[KR_UUID_TEXT_LEN + 1], want[KR_UUID_TEXT_LEN + 1];

	if (memcmp(id->cluster_id, cluster_id, KR_UUID_BYTES) != 0) {
		kr_uuid_format(id->cluster_id, have);
		kr_uuid_format(cluster_id, want);
		snprintf(err, errlen, "%s/%s: cluster.id is %s, expected %s", dir, KR_META_FILE,
			 have, want);
		return -EINVAL;
	}
	if (id->node_id != node_id) {
		snprintf(err, errlen, "%s/%s: node.id is %" PRId32 ", expected %" PRId32, dir,
			 KR_META_FILE, id->node_id, node_id);
		return -EINVAL;
	}
	return 0;
}

int
kr_datadir_format(const struct kr_fs *fs, const char *dir, const uint8_t cluster_id[KR_UUID_BYTES],
		  int32_t node_id, const struct kr_voter_set *initial, const uint8_t *directory_id,
		  bool ignore_formatted, struct kr_identity *id, char *err, size_t errlen)
{
	struct kr_quorum_state qs = {
		.epoch = 0, .leader_id = KR_NODE_NONE, .voted_id = KR_NODE_NONE};
	struct kr_voter_set none = {0};
	char buf[KR_DATADIR_FILE_MAX];
	int rc, n, self, lock = -1;

	if (node_id < 0) {
		snprintf(err, errlen, "node id %" PRId32 " is negative", node_id);
		return -EINVAL;
	}
	if (kr_uuid_is_zero(cluster_id)) {
		snprintf(err, errlen, "the cluster id must not be all zero");
		return -EINVAL;
	}
	if (initial == NULL)
		initial = &none; /* a joining directory */
	rc = kr_mkdir_durable(fs, dir);
	if (rc != 0) {
		snprintf(err, errlen, "create %s: %s", dir, strerror(-rc));
		return rc;
	}
	/* the lock is between processes on the real file system; a simulated one has one
	 * user */
	if (kr_fs_or_posix(fs) == kr_fs_posix() &&
	    (rc = kr_datadir_lock(dir, &lock, err, errlen)) != 0)
		return rc;
	rc = kr_identity_load(fs, dir, id, err, errlen);
	if (rc == 0) {
		if (!ignore_formatted) {
			snprintf(err, errlen, "%s is already formatted (%s exists)", dir,
				 KR_META_FILE);
			rc = -EEXIST;
			goto out;
		}
		rc = identity_matches(dir, id, cluster_id, node_id, err, errlen);
		rc = rc == 0 ? 1 : -EEXIST;
		goto out;
	}
	if (rc != -ENOENT)
		goto out;
	/* A quorum state without an identity is a half-done format (epoch 0, no vote) or a
	 * damaged directory; resetting a real epoch or vote could let this node vote twice. */
	rc = kr_quorum_state_load(fs, dir, &qs, err, errlen);
	if (rc == 0 && (qs.epoch != 0 || qs.voted_id != KR_NODE_NONE)) {
		snprintf(err, errlen,
			 "%s/%s holds epoch %" PRIu32 " but %s is missing; refusing to reset it",
			 dir, KR_QUORUM_STATE_FILE, qs.epoch, KR_META_FILE);
		rc = -EEXIST;
		goto out;
	}
	if (rc != 0 && rc != -ENOENT)
		goto out;
	qs = (struct kr_quorum_state){
		.epoch = 0, .leader_id = KR_NODE_NONE, .voted_id = KR_NODE_NONE};

	memcpy(id->cluster_id, cluster_id, KR_UUID_BYTES);
	id->node_id = node_id;
	self = kr_voters_find(initial, node_id);
	if (self >= 0) {
		memcpy(id->directory_id, initial->v[self].dir, KR_UUID_BYTES);
	} else if (directory_id != NULL) {
		memcpy(id->directory_id, directory_id, KR_UUID_BYTES);
	} else if ((rc = kr_uuid_random(id->directory_id)) != 0) {
		snprintf(err, errlen, "random directory id: %s", strerror(-rc));
		goto out;
	}
	/* The quorum state and the voters first: a directory with an identity always has
	 * both. */
	rc = kr_quorum_state_store(fs, dir, &qs, err, errlen);
	if (rc != 0)
		goto out;
	n = kr_bootstrap_encode(initial, buf, sizeof(buf));
	rc = n < 0 ? n : kr_write_file_atomic(fs, dir, KR_BOOTSTRAP_FILE, buf, (size_t)n);
	if (rc != 0) {
		snprintf(err, errlen, "write %s/%s: %s", dir, KR_BOOTSTRAP_FILE, strerror(-rc));
		goto out;
	}
	rc = kr_identity_store(fs, dir, id, err, errlen);
out:
	if (lock >= 0)
		close(lock);
	return rc;
}

int
kr_datadir_open(const struct kr_fs *fs, const char *dir, const uint8_t cluster_id[KR_UUID_BYTES],
		int32_t node_id, struct kr_identity *id, struct kr_quorum_state *qs, char *err,
		size_t errlen)
{
	int rc = kr_identity_load(fs, dir, id, err, errlen);

	if (rc == 0)
		rc = identity_matches(dir, id, cluster_id, node_id, err, errlen);
	if (rc == 0)
		rc = kr_quorum_state_load(fs, dir, qs, err, errlen);
	return rc;
}

int
kr_datadir_log_path(const char *dir, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", dir, KR_LOG_SUBDIR);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}
