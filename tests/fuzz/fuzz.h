/*
 * fuzz.h - what every fuzz driver of tests/fuzz shares (prefix fuzz_).
 *
 * Each fuzz_<target>.c implements LLVMFuzzerTestOneInput for one parser of
 * precis and is linked two ways (tests/fuzz/CMakeLists.txt): with libFuzzer
 * (clang, PRECIS_FUZZ=ON, `make fuzz`), which generates inputs, and with
 * replay_main.c in every other build, which feeds it the files of its seed
 * corpus and its regressions directory once each, as the ctest test
 * fuzz_<target> (label unit). A driver checks properties of what the
 * parser returns, not only that it returns: a broken property is reported
 * by FUZZ_CHECK, which aborts, so libFuzzer keeps the input and ctest
 * fails. Drivers are single-threaded and keep no state between inputs
 * beyond what they say.
 */
#ifndef PRECIS_FUZZ_H
#define PRECIS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/*
 * LLVMFuzzerTestOneInput - run the target on data[0..size) (valid only
 * during the call; the driver copies what it keeps). Returns 0; a crash,
 * a sanitizer report or a failed FUZZ_CHECK is the only way to fail.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_CHECK - abort with the property's text and place when cond is false. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(__FILE__, __LINE__, #cond);                                      \
	} while (0)

/* fuzz_fail - print "file:line: property failed: what" to stderr and abort(). */
_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/*
 * fuzz_cstr - a NUL-terminated heap copy of data[0..size), which may hold
 * NULs of its own (C-string functions then see only the part before the
 * first). Aborts when out of memory; the caller frees it with free.
 */
char *fuzz_cstr(const uint8_t *data, size_t size);

/*
 * fuzz_split - cut s in place at each sep into at most max fields, the
 * last taking the rest (separators included); field[i] points into s.
 * Returns the number of fields (1 when s holds no sep; max >= 1).
 */
size_t fuzz_split(char *s, char sep, char **field, size_t max);

#endif
