/*
 * replay_main.c - the main of a fuzz driver outside libFuzzer.
 *
 * Feeds LLVMFuzzerTestOneInput every file named on the command line and
 * every file of every directory named there, once each, directories in
 * name order. Without arguments it replays the driver's own seed corpus
 * and regressions directory (FUZZ_CORPUS_DIR and FUZZ_REGRESSIONS_DIR,
 * compiled in by tests/fuzz/CMakeLists.txt), which is what the ctest test
 * fuzz_<target> and scripts/valgrind-unit run. Files whose names start
 * with '.' or "README" are skipped. Each input is read into a buffer of
 * exactly its size, so a read past its end is caught by ASan or valgrind.
 * Exits 0 when every input ran (a failure aborts inside the driver), 1
 * when a file or directory cannot be read or nothing was replayed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Read path whole into a heap buffer of exactly its size; NULL on failure. */
static uint8_t *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	struct stat st;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size >= 0) {
		*size = (size_t)st.st_size;
		buf = malloc(*size ? *size : 1);
		if (buf && *size && fread(buf, 1, *size, f) != *size) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static int replay_file(const char *path, size_t *count)
{
	size_t size = 0;
	uint8_t *buf = read_all(path, &size);

	if (!buf) {
		fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	LLVMFuzzerTestOneInput(buf, size);
	free(buf);
	(*count)++;
	return 0;
}

static int wanted(const struct dirent *e)
{
	return e->d_name[0] != '.' && strncmp(e->d_name, "README", 6) != 0;
}

static int replay(const char *path, size_t *count)
{
	struct dirent **names;
	struct stat st;
	int n, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path, count);
	n = scandir(path, &names, wanted, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: cannot list %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char file[4096];

		snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode))
			rc |= replay_file(file, count);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	const char *builtin[] = {FUZZ_CORPUS_DIR, FUZZ_REGRESSIONS_DIR};
	size_t count = 0;
	int rc = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			rc |= replay(argv[i], &count);
	} else {
		for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
			rc |= replay(builtin[i], &count);
	}
	printf("%s: %zu inputs replayed\n", argv[0], count);
	if (count == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}
	return rc;
}
