/*
 * fuzz_util.c - the helpers of fuzz.h, linked into every fuzz driver
 * (libFuzzer build and replay build alike).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* fuzz_fail - contract in fuzz.h. */
void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: property failed: %s\n", file, line, what);
	fflush(stderr);
	abort();
}

/* fuzz_cstr - contract in fuzz.h. */
char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s) {
		fprintf(stderr, "fuzz: out of memory\n");
		abort();
	}
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* fuzz_split - contract in fuzz.h. */
size_t fuzz_split(char *s, char sep, char **field, size_t max)
{
	size_t n = 0;

	field[n++] = s;
	while (n < max) {
		char *p = strchr(field[n - 1], sep);

		if (!p)
			break;
		*p = '\0';
		field[n++] = p + 1;
	}
	return n;
}
