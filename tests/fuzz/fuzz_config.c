/*
 * fuzz_config.c - precis-bridge's configuration loader (bridge/config.c): the
 * `key = value` file, the `--key value` flags, the option table and the
 * segment and experiment specs it hands to their parsers.
 *
 * Input: the config file's bytes, then optionally a NUL byte and flags
 * separated by NUL bytes (argv cannot hold a NUL, so this splits nothing a
 * real command line could hold). The file is written to a memfd that
 * br_config_load opens by its /proc/self/fd path. Properties: loading
 * never leaks, also on a refusal; a refusal always says why; an accepted
 * configuration obeys its cross-key rules (reconnect_min <= reconnect_max,
 * weights within -1000..1000, a valid topic root, share group and segment
 * and experiment ids) and loads again to the same result, which a reload
 * (br_config_reloadable) accepts. Inputs naming mqtt_password_file are
 * skipped: it makes the loader read whatever file is named, which the
 * fuzzer could point at /dev/zero.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "precis/error.h"
#include "precis/topic.h"

#define MAX_FLAGS 64

static bool names_password_file(const uint8_t *data, size_t size)
{
	static const char key[] = "password_file";
	size_t n = sizeof key - 1;

	for (size_t i = 0; i + n <= size; i++) {
		size_t k = 0;

		while (k < n && (data[i + k] == key[k] || (key[k] == '_' && data[i + k] == '-')))
			k++;
		if (k == n)
			return true;
	}
	return false;
}

static bool id_ok(const char *s)
{
	return pc_id_check(s, strlen(s), NULL, 0) == PC_OK;
}

static void check_loaded(const struct br_config *c)
{
	const char *key = "unset";

	FUZZ_CHECK(c->reconnect_min_ms <= c->reconnect_max_ms);
	FUZZ_CHECK(c->shrinkage >= 0 && c->max_value >= 0);
	for (int k = 0; k < 4; k++)
		FUZZ_CHECK(c->weight[k] >= -1000 && c->weight[k] <= 1000);
	FUZZ_CHECK(pc_root_check(c->topic_root, NULL, 0) == PC_OK);
	FUZZ_CHECK(id_ok(c->share_group));
	FUZZ_CHECK(!c->client_id[0] || id_ok(c->client_id));
	FUZZ_CHECK(c->nsegments <= BR_MAX_SEGMENTS && c->nexperiments <= BR_MAX_EXPERIMENTS);
	for (size_t k = 0; k < c->nsegments; k++)
		FUZZ_CHECK(id_ok(c->segments[k].id) && c->segments[k].spec);
	for (size_t k = 0; k < c->nexperiments; k++)
		FUZZ_CHECK(id_ok(c->experiments[k].id) && c->experiments[k].spec);
	FUZZ_CHECK(br_config_reloadable(c, c, &key) && key == NULL);
}

/* LLVMFuzzerTestOneInput - contract in fuzz.h; the input is the one described at the top. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	const uint8_t *nul = size ? memchr(data, '\0', size) : NULL;
	size_t flen = nul ? (size_t)(nul - data) : size;
	char *flags = NULL, *argv[MAX_FLAGS];
	int argc = 0, rc, rc2;
	struct br_config c, c2;
	char err[1024], err2[1024];
	const char *key;

	if (names_password_file(data, size))
		return 0;
	if (fd < 0) {
		fd = memfd_create("fuzz_config", MFD_CLOEXEC);
		FUZZ_CHECK(fd >= 0);
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	FUZZ_CHECK(flen == 0 || pwrite(fd, data, flen, 0) == (ssize_t)flen);
	if (nul) {
		size_t rest = size - flen - 1;
		char *p;

		flags = fuzz_cstr(nul + 1, rest);
		/* Each NUL-separated piece is an argument, the empty ones too. */
		for (p = flags; argc < MAX_FLAGS && p < flags + rest;) {
			size_t n = strlen(p);

			argv[argc++] = p;
			p += n + 1;
		}
	}

	err[0] = '\0';
	rc = br_config_load(&c, path, argc, argv, err, sizeof err);
	if (rc != PC_OK) {
		FUZZ_CHECK(err[0] != '\0');
	} else {
		check_loaded(&c);
		rc2 = br_config_load(&c2, path, argc, argv, err2, sizeof err2);
		FUZZ_CHECK(rc2 == PC_OK);
		FUZZ_CHECK(br_config_reloadable(&c, &c2, &key));
		FUZZ_CHECK(c.nsegments == c2.nsegments && c.nexperiments == c2.nexperiments);
		FUZZ_CHECK(c.k == c2.k && c.top_n == c2.top_n && c.algo == c2.algo &&
		           c.similarity == c2.similarity);
		br_config_cleanup(&c2);
	}
	br_config_cleanup(&c);
	free(flags);
	return 0;
}
