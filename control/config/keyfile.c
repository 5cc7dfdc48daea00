/* kraftd: cluster key files (peer authentication, include/kraft/auth.h). A key file holds
 * 64 hex digits and must be a regular file that only its owner can read or write: a key
 * others can read authenticates nothing. Used by kraftd, kraftctl and kraftbench. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "kraft/auth.h"

int
kr_auth_key_file(const char *path, struct kr_auth_key *k, char *err, size_t errlen)
{
	char text[256], why[128];
	struct stat st;
	ssize_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	memset(k, 0, sizeof(*k));
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == ELOOP ? "a symbolic link (give the file itself)"
					: strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "%s: group or others may read or write it (mode %04o): a cluster key must "
			 "be private to its owner (chmod 600)",
			 path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	len = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (len < 0 || len == (ssize_t)sizeof(text) - 1) {
		snprintf(err, errlen, "%s: %s", path,
			 len < 0 ? strerror(errno) : "too long for a key file (64 hex digits)");
		sodium_memzero(text, sizeof(text));
		return -1;
	}
	text[len] = '\0';
	if (kr_auth_key_parse(text, k, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		sodium_memzero(text, sizeof(text));
		return -1;
	}
	sodium_memzero(text, sizeof(text));
	return 0;
}

int
kr_auth_keys_load(const char *send_path, const char *accept_path, struct kr_auth_keys *keys,
		  char *err, size_t errlen)
{
	memset(keys, 0, sizeof(*keys));
	if (send_path == NULL || send_path[0] == '\0')
		return 0; /* authentication off */
	if (kr_auth_key_file(send_path, &keys->keys[0], err, errlen) != 0)
		return -1;
	/* the accept file may be configured for good and exist only during a rotation */
	if (accept_path != NULL && accept_path[0] != '\0' && access(accept_path, F_OK) == 0) {
		if (kr_auth_key_file(accept_path, &keys->keys[1], err, errlen) != 0)
			return -1;
		if (keys->keys[1].id == keys->keys[0].id &&
		    sodium_memcmp(keys->keys[1].bytes, keys->keys[0].bytes, KR_AUTH_KEY_BYTES) !=
			    0) {
			snprintf(err, errlen,
				 "%s and %s: two different keys with the same key id %u (the first "
				 "byte of their hash): generate another new key",
				 send_path, accept_path, keys->keys[0].id);
			return -1;
		}
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium would not initialise");
		return -1;
	}
	keys->send = 0;
	return 0;
}
