/*
 * pwhash.h - password hashes in the formats Mosquitto itself uses.
 *
 *   $6$<salt>$<hash>               SHA-512(password || salt)
 *   $7$<iterations>$<salt>$<hash>  PBKDF2-HMAC-SHA512(password, salt, iterations, 64 bytes)
 *
 * salt and hash are standard base64 with padding. mosquitto_passwd (2.0)
 * and the dynamic-security plugin write $7$ with 101 iterations and a
 * 12-byte salt; 2.1 writes 210000 iterations and a 64-byte salt. Both
 * parse here: any iteration count from 1 to PC_PWHASH_ITER_MAX, any salt
 * of 1 to PC_PWHASH_SALT_MAX bytes; the hash is always 64 bytes.
 * Verification compares in constant time. Part of libprecis_pwhash
 * (OpenSSL's libcrypto).
 */
#ifndef PRECIS_PWHASH_H
#define PRECIS_PWHASH_H

#include <stdbool.h>
#include <stddef.h>

#define PC_PWHASH_SALT_MAX 64
#define PC_PWHASH_LEN      64
#define PC_PWHASH_ITER_MAX 10000000
/* Longest encoded form: "$7$10000000$" + 88 (64-byte salt) + "$" + 88. */
#define PC_PWHASH_TEXT_MAX 192
/* The iteration count mosquitto_passwd 2.0 uses, and precisctl's default. */
#define PC_PWHASH_DEFAULT_ITER 101

enum pc_pwhash_kind {
	PC_PWHASH_SHA512 = 6,        /* $6$ */
	PC_PWHASH_PBKDF2_SHA512 = 7, /* $7$ */
};

struct pc_pwhash {
	enum pc_pwhash_kind kind;
	int iterations; /* $7$; 1 for $6$ */
	unsigned char salt[PC_PWHASH_SALT_MAX];
	size_t salt_len;
	unsigned char hash[PC_PWHASH_LEN];
};

/*
 * pc_pwhash_parse - decode the text form s into out. Returns PC_OK, or
 * PC_ERR_INVAL with detail (unknown prefix, bad iteration count, bad
 * base64, wrong salt or hash length, trailing text). out is unspecified
 * on failure.
 */
int pc_pwhash_parse(const char *s, struct pc_pwhash *out, char *err, size_t errlen);

/*
 * pc_pwhash_verify - whether password (len bytes) hashes to h. The final
 * comparison takes constant time. Costs one SHA-512 for $6$ and
 * iterations HMAC-SHA512 rounds for $7$ (about 0.5 us each).
 */
bool pc_pwhash_verify(const struct pc_pwhash *h, const char *password, size_t len);

/*
 * pc_pwhash_make - hash password (len bytes, 1 or more) in $7$ form with
 * iterations (1..PC_PWHASH_ITER_MAX) and a fresh random salt of salt_len
 * bytes (1..PC_PWHASH_SALT_MAX; 12 is what Mosquitto 2.0 writes), writing
 * the NUL-terminated text into buf. Returns PC_OK, PC_ERR_INVAL (bad
 * arguments), PC_ERR_TOO_LONG (buf too small: PC_PWHASH_TEXT_MAX + 1 is
 * always enough) or PC_ERR_IO (no random bytes), with detail.
 */
int pc_pwhash_make(char *buf, size_t buflen, const char *password, size_t len, int iterations,
                   size_t salt_len, char *err, size_t errlen);

/*
 * pc_pwhash_format - the text form of h into buf (NUL-terminated).
 * Returns the length, or PC_ERR_TOO_LONG.
 */
int pc_pwhash_format(const struct pc_pwhash *h, char *buf, size_t buflen);

#endif
