/*
 * snapshot.c - the principal snapshot: what the registry said, kept on
 * local disk so that a broker restarted while MongoDB is down still lets
 * known principals log in.
 *
 * The file is a sequence of BSON documents: a header {"precis_auth_snapshot": 1}
 * and then records {"i": id, "r": role, "e": enabled, "h": hash text}, or
 * {"i": id, "x": true} when the registry said id is gone (or invalid). A
 * later record for an id replaces an earlier one. The worker writes it:
 * each preload writes a complete new file beside it (path.tmp), renamed
 * over it when the preload is complete, and every update after that is
 * appended. The file's mtime says when its content was last known to
 * match the registry: appends set it, and auth__snapshot_flush touches it
 * at least every SNAPSHOT_TOUCH_MS while the worker keeps in step. A
 * reader refuses a file older than its max age, one that others may read
 * or write (it holds password hashes, like a shadow file), or one not
 * owned by the broker's user, and stops at a damaged record (a torn last
 * append after a crash is expected). No mosquitto_* calls: usable from
 * any one thread at a time (the worker writes; the broker thread reads,
 * once, at start).
 */
#include <bson/bson.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "precis/error.h"

#define SNAPSHOT_TOUCH_MS   60000
#define SNAPSHOT_RECORD_MAX 4096 /* far above any record's size */
#define SNAPSHOT_VERSION    1

struct auth__snapshot {
	char *path, *tmp_path;
	int fd;     /* path, O_APPEND; -1 when not open */
	int tmp_fd; /* path.tmp while a rewrite is under way; else -1 */
	int64_t touched_wall_ms;
	bool dirty; /* appended since the last flush */
};

int auth__snapshot_encode(const struct pc_principal_rec *rec, const char *gone_id, bson_t *out)
{
	bson_init(out);
	if (!rec) {
		if (!BSON_APPEND_UTF8(out, "i", gone_id) || !BSON_APPEND_BOOL(out, "x", true))
			return PC_ERR_NOMEM;
		return PC_OK;
	}
	if (!BSON_APPEND_UTF8(out, "i", rec->id) ||
	    !BSON_APPEND_UTF8(out, "r", pc_role_name(rec->role)) ||
	    !BSON_APPEND_BOOL(out, "e", rec->enabled) ||
	    !BSON_APPEND_UTF8(out, "h", rec->password_hash))
		return PC_ERR_NOMEM;
	return PC_OK;
}

/* The UTF-8 string at key into buf (NUL-free, fits); false otherwise. */
static bool get_text(const bson_t *doc, const char *key, char *buf, size_t buflen)
{
	bson_iter_t it;
	uint32_t len;
	const char *s;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return false;
	s = bson_iter_utf8(&it, &len);
	if (len >= buflen || memchr(s, '\0', len))
		return false;
	memcpy(buf, s, len + 1);
	return true;
}

int auth__snapshot_decode(const uint8_t *data, size_t avail, size_t *used,
                          struct pc_principal_rec *rec, bool *gone, char *err, size_t errlen)
{
	int32_t len;
	bson_t doc;
	bson_iter_t it;
	char role[16];

	if (avail < 5)
		return pc_errf(err, errlen, PC_ERR_EMPTY, "a record cut short");
	memcpy(&len, data, 4);
	len = (int32_t)BSON_UINT32_FROM_LE((uint32_t)len);
	if (len < 5 || len > SNAPSHOT_RECORD_MAX)
		return pc_errf(err, errlen, PC_ERR_INVAL, "a record of length %d", (int)len);
	if ((size_t)len > avail)
		return pc_errf(err, errlen, PC_ERR_EMPTY, "a record cut short");
	if (!bson_init_static(&doc, data, (size_t)len) ||
	    !bson_validate(&doc, BSON_VALIDATE_UTF8, NULL))
		return pc_errf(err, errlen, PC_ERR_INVAL, "a record that is not valid BSON");
	*used = (size_t)len;
	memset(rec, 0, sizeof *rec);
	if (!get_text(&doc, "i", rec->id, sizeof rec->id) ||
	    pc_id_check(rec->id, strlen(rec->id), NULL, 0) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "a record without a valid id");
	*gone =
	    bson_iter_init_find(&it, &doc, "x") && BSON_ITER_HOLDS_BOOL(&it) && bson_iter_bool(&it);
	if (*gone)
		return PC_OK;
	if (!get_text(&doc, "r", role, sizeof role) || pc_role_parse(role, &rec->role) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "record '%s': no valid role", rec->id);
	if (!bson_iter_init_find(&it, &doc, "e") || !BSON_ITER_HOLDS_BOOL(&it))
		return pc_errf(err, errlen, PC_ERR_INVAL, "record '%s': no enabled flag", rec->id);
	rec->enabled = bson_iter_bool(&it);
	if (!get_text(&doc, "h", rec->password_hash, sizeof rec->password_hash))
		return pc_errf(err, errlen, PC_ERR_INVAL, "record '%s': no password hash", rec->id);
	return PC_OK;
}

/* ---- writer (the worker thread) ---- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_doc(int fd, const bson_t *doc)
{
	return write_all(fd, bson_get_data(doc), doc->len);
}

static int write_header(int fd)
{
	bson_t h;
	int rc;

	bson_init(&h);
	BSON_APPEND_INT32(&h, "precis_auth_snapshot", SNAPSHOT_VERSION);
	rc = write_doc(fd, &h);
	bson_destroy(&h);
	return rc;
}

/* Open (creating, mode 0600) path for appending; a new file gets its header. */
static int open_append(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) != 0 || fstat(fd, &st) != 0 ||
	    (st.st_size == 0 && write_header(fd) != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

struct auth__snapshot *auth__snapshot_open(const char *path, char *err, size_t errlen)
{
	struct auth__snapshot *s = calloc(1, sizeof *s);
	size_t n = strlen(path);

	if (!s || !(s->path = strdup(path)) || !(s->tmp_path = malloc(n + 5))) {
		auth__snapshot_close(s);
		pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	memcpy(s->tmp_path, path, n);
	memcpy(s->tmp_path + n, ".tmp", 5);
	s->tmp_fd = -1;
	s->fd = open_append(path);
	if (s->fd < 0) {
		pc_errf(err, errlen, PC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
		auth__snapshot_close(s);
		return NULL;
	}
	return s;
}

void auth__snapshot_close(struct auth__snapshot *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->tmp_fd >= 0) {
		close(s->tmp_fd);
		unlink(s->tmp_path);
	}
	free(s->path);
	free(s->tmp_path);
	free(s);
}

int auth__snapshot_begin(struct auth__snapshot *s, char *err, size_t errlen)
{
	if (s->tmp_fd >= 0)
		close(s->tmp_fd);
	s->tmp_fd = open(s->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (s->tmp_fd < 0 || fchmod(s->tmp_fd, 0600) != 0 || write_header(s->tmp_fd) != 0) {
		int e = errno;

		if (s->tmp_fd >= 0)
			close(s->tmp_fd);
		s->tmp_fd = -1;
		return pc_errf(err, errlen, PC_ERR_IO, "cannot write %s: %s", s->tmp_path,
		               strerror(e));
	}
	return PC_OK;
}

int auth__snapshot_record(struct auth__snapshot *s, const struct pc_principal_rec *rec,
                          const char *gone_id, char *err, size_t errlen)
{
	bson_t doc;
	int rc = auth__snapshot_encode(rec, gone_id, &doc);

	if (rc == PC_OK && s->tmp_fd >= 0 && write_doc(s->tmp_fd, &doc) != 0) {
		rc = pc_errf(err, errlen, PC_ERR_IO, "cannot write %s: %s", s->tmp_path,
		             strerror(errno));
		close(s->tmp_fd);
		s->tmp_fd = -1;
		unlink(s->tmp_path);
	}
	if (rc == PC_OK && s->fd >= 0) {
		if (write_doc(s->fd, &doc) != 0)
			rc = pc_errf(err, errlen, PC_ERR_IO, "cannot append to %s: %s", s->path,
			             strerror(errno));
		else
			s->dirty = true;
	}
	bson_destroy(&doc);
	return rc;
}

int auth__snapshot_commit(struct auth__snapshot *s, char *err, size_t errlen)
{
	int fd;

	if (s->tmp_fd < 0)
		return pc_errf(err, errlen, PC_ERR_IO, "no complete rewrite of %s to commit",
		               s->path);
	if (fsync(s->tmp_fd) != 0 || rename(s->tmp_path, s->path) != 0) {
		int e = errno;

		close(s->tmp_fd);
		s->tmp_fd = -1;
		unlink(s->tmp_path);
		return pc_errf(err, errlen, PC_ERR_IO, "cannot replace %s: %s", s->path,
		               strerror(e));
	}
	/* The rewritten file becomes the one appended to. */
	fd = s->tmp_fd;
	s->tmp_fd = -1;
	close(fd);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = open_append(s->path);
	if (s->fd < 0)
		return pc_errf(err, errlen, PC_ERR_IO, "cannot open %s: %s", s->path,
		               strerror(errno));
	s->touched_wall_ms = 0;
	s->dirty = true;
	return PC_OK;
}

int auth__snapshot_flush(struct auth__snapshot *s, int64_t wall_ms, char *err, size_t errlen)
{
	if (s->fd < 0) {
		s->fd = open_append(s->path); /* a failed open or commit: try again */
		if (s->fd < 0)
			return pc_errf(err, errlen, PC_ERR_IO, "cannot open %s: %s", s->path,
			               strerror(errno));
	}
	if (s->dirty) {
		s->dirty = false;
		s->touched_wall_ms = wall_ms;
		return PC_OK; /* the appends set the mtime */
	}
	if (wall_ms - s->touched_wall_ms < SNAPSHOT_TOUCH_MS)
		return PC_OK;
	s->touched_wall_ms = wall_ms;
	if (futimens(s->fd, NULL) != 0)
		return pc_errf(err, errlen, PC_ERR_IO, "cannot touch %s: %s", s->path,
		               strerror(errno));
	return PC_OK;
}

/* ---- reader (the broker thread, at start) ---- */

/* One id's final state while reading. */
struct latest {
	bool gone;
	struct pc_principal_rec rec;
};

static int read_file(int fd, size_t size, uint8_t **out)
{
	uint8_t *buf = malloc(size ? size : 1);
	size_t got = 0;

	if (!buf)
		return PC_ERR_NOMEM;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got != size) {
		free(buf);
		return PC_ERR_IO;
	}
	*out = buf;
	return PC_OK;
}

/* Check the header document; its length, or 0 when it is not one. */
static size_t header_len(const uint8_t *data, size_t size)
{
	int32_t len;
	bson_t doc;
	bson_iter_t it;

	if (size < 5)
		return 0;
	memcpy(&len, data, 4);
	len = (int32_t)BSON_UINT32_FROM_LE((uint32_t)len);
	if (len < 5 || (size_t)len > size || !bson_init_static(&doc, data, (size_t)len) ||
	    !bson_iter_init_find(&it, &doc, "precis_auth_snapshot") ||
	    !BSON_ITER_HOLDS_INT32(&it) || bson_iter_int32(&it) != SNAPSHOT_VERSION)
		return 0;
	return (size_t)len;
}

int auth__snapshot_read(const char *path, int64_t max_age_ms, int64_t now_wall_ms,
                        auth__snapshot_fn fn, void *arg, struct auth__snapshot_info *info,
                        char *err, size_t errlen)
{
	struct pc_hmap *latest = NULL;
	uint8_t *data = NULL;
	struct stat st;
	size_t off, cur = 0;
	void *v;
	int fd, rc;

	memset(info, 0, sizeof *info);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return pc_errf(err, errlen, PC_ERR_EMPTY, "%s does not exist yet", path);
	if (fd < 0)
		return pc_errf(err, errlen, PC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = pc_errf(err, errlen, PC_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		rc = pc_errf(err, errlen, PC_ERR_INVAL,
		             "%s is not a regular file of this user with mode 0600 (mode %03o, "
		             "owner %u): it holds password hashes",
		             path, (unsigned)(st.st_mode & 0777), (unsigned)st.st_uid);
		goto out;
	}
	info->age_ms =
	    now_wall_ms - ((int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
	if (info->age_ms > max_age_ms) {
		rc =
		    pc_errf(err, errlen, PC_ERR_RANGE, "%s is %lld s old, over the %lld s allowed",
		            path, (long long)(info->age_ms / 1000), (long long)(max_age_ms / 1000));
		goto out;
	}
	rc = read_file(fd, (size_t)st.st_size, &data);
	if (rc != PC_OK) {
		pc_errf(err, errlen, rc, "cannot read %s", path);
		goto out;
	}
	off = header_len(data, (size_t)st.st_size);
	if (off == 0) {
		rc = pc_errf(err, errlen, PC_ERR_INVAL, "%s is not a precis_auth snapshot", path);
		goto out;
	}
	latest = pc_hmap_new(1024);
	if (!latest) {
		rc = pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
		goto out;
	}
	while (off < (size_t)st.st_size) {
		struct latest l, *slot;
		size_t used = 0;
		char why[128];

		rc = auth__snapshot_decode(data + off, (size_t)st.st_size - off, &used, &l.rec,
		                           &l.gone, why, sizeof why);
		if (rc != PC_OK) {
			snprintf(info->damage, sizeof info->damage, "%s at byte %zu", why, off);
			break;
		}
		off += used;
		info->records++;
		slot = pc_hmap_get(latest, l.rec.id, strlen(l.rec.id));
		if (!slot) {
			slot = malloc(sizeof *slot);
			if (!slot ||
			    pc_hmap_put(latest, l.rec.id, strlen(l.rec.id), slot, NULL) != PC_OK) {
				free(slot);
				rc = pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
				goto out;
			}
		}
		*slot = l;
	}
	while (pc_hmap_next(latest, &cur, NULL, NULL, &v)) {
		const struct latest *l = v;

		if (!l->gone) {
			fn(arg, &l->rec);
			info->principals++;
		}
	}
	rc = PC_OK;
out:
	if (latest) {
		cur = 0;
		while (pc_hmap_next(latest, &cur, NULL, NULL, &v))
			free(v);
		pc_hmap_free(latest);
	}
	free(data);
	close(fd);
	return rc;
}
