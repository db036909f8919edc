/*
 * error.c - the error table of libprecis and the detail formatter.
 *
 * pc_strerror maps each PC_ERR_* code of error.h to a fixed sentence;
 * pc_errf writes a detail message into a caller-owned buffer and returns
 * the code, so a failure path is one line. Pure, thread-safe, no
 * allocation. Used by every other file of the library and by its callers.
 */
#include <stdarg.h>
#include <stdio.h>

#include "precis/error.h"

static const struct {
	int code;
	const char *text;
} err_table[] = {
    {PC_OK, "success"},
    {PC_ERR_NOMEM, "out of memory"},
    {PC_ERR_INVAL, "invalid argument"},
    {PC_ERR_RANGE, "value out of range"},
    {PC_ERR_UNKNOWN_KEY, "unknown key"},
    {PC_ERR_DUPLICATE, "duplicate key"},
    {PC_ERR_TOO_LONG, "too long"},
    {PC_ERR_FULL, "container is full"},
    {PC_ERR_EMPTY, "nothing to take"},
    {PC_ERR_CLOSED, "closed for new work"},
    {PC_ERR_TIMEOUT, "timed out"},
    {PC_ERR_IO, "I/O error"},
    {PC_ERR_BACKEND, "backend answered with an error"},
};

/* pc_strerror - contract in error.h; a linear scan of err_table. */
const char *pc_strerror(int err)
{
	size_t i;

	for (i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++) {
		if (err_table[i].code == err)
			return err_table[i].text;
	}
	return "unknown error";
}

/* pc_errf - contract in error.h; vsnprintf truncates and NUL-terminates. */
int pc_errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return code;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}
