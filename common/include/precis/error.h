/*
 * error.h - the one error enum of libprecis.
 *
 * Every libprecis function that can fail returns an int: 0 (PC_OK) on
 * success, or one of the negative PC_ERR_* codes below. Detail, when there
 * is any, goes into a caller-owned buffer passed as (err, errlen).
 */
#ifndef PRECIS_ERROR_H
#define PRECIS_ERROR_H

#include <stddef.h>

enum pc_err {
	PC_OK = 0,
	PC_ERR_NOMEM = -1,       /* an allocation failed */
	PC_ERR_INVAL = -2,       /* malformed input */
	PC_ERR_RANGE = -3,       /* well-formed but out of the allowed range */
	PC_ERR_UNKNOWN_KEY = -4, /* an option or field name nobody knows */
	PC_ERR_DUPLICATE = -5,   /* the same key given twice */
	PC_ERR_TOO_LONG = -6,    /* a result would not fit its buffer or limit */
	PC_ERR_FULL = -7,        /* a bounded container is full */
	PC_ERR_EMPTY = -8,       /* nothing to take */
	PC_ERR_CLOSED = -9,      /* the object was closed for new work */
	PC_ERR_TIMEOUT = -10,    /* a wait ran out of time */
	PC_ERR_IO = -11,         /* a network or file operation failed */
	PC_ERR_BACKEND = -12,    /* a backend (Redis, MongoDB) answered with an error */
};

/*
 * pc_strerror - a static, human-readable description of an error code.
 * Never returns NULL; unknown codes give "unknown error". The string is
 * owned by the library and lives forever.
 */
const char *pc_strerror(int err);

/*
 * pc_errf - format a message into a caller-owned buffer (snprintf rules,
 * truncating, always NUL-terminated when errlen > 0). A NULL err or a zero
 * errlen is allowed and does nothing. Returns code unchanged so a caller
 * can write `return pc_errf(err, errlen, PC_ERR_INVAL, "...")`.
 */
int pc_errf(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
