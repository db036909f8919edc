/*
 * pwhash.c - Mosquitto's $6$ and $7$ password hashes: parse, verify, make.
 *
 * The base64 codec is our own and strict (standard alphabet, '=' padding
 * required, nothing else allowed), so a hash string either means exactly
 * one (salt, hash) pair or is refused. Hashing and randomness come from
 * OpenSSL's libcrypto, as in Mosquitto. See pwhash.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "precis/error.h"
#include "precis/pwhash.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode exactly n characters of s into out (at most outmax bytes).
 * Returns the byte count, or -1 when the text is not canonical base64.
 */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t outmax)
{
	size_t o = 0;

	if (n == 0 || n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;

		for (int j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)s[i + j];

			if (c == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad) /* data after padding */
				return -1;
			v[j] = b64_value(c);
			if (v[j] < 0)
				return -1;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		             (uint32_t)v[3];
		/* Canonical: the bits that padding drops must be zero. */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return -1;
		for (int j = 0; j < 3 - pad; j++) {
			if (o >= outmax)
				return -1;
			out[o++] = (unsigned char)(w >> (16 - 8 * j));
		}
	}
	return (long)o;
}

/* Encode n bytes into out (NUL-terminated); returns the length or -1 if outmax is short. */
static int b64_encode(const unsigned char *in, size_t n, char *out, size_t outmax)
{
	size_t need = (n + 2) / 3 * 4, o = 0;

	if (need + 1 > outmax)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			w |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			w |= in[i + 2];
		out[o++] = b64_alphabet[(w >> 18) & 63];
		out[o++] = b64_alphabet[(w >> 12) & 63];
		out[o++] = i + 1 < n ? b64_alphabet[(w >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64_alphabet[w & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

int pc_pwhash_parse(const char *s, struct pc_pwhash *out, char *err, size_t errlen)
{
	const char *p, *salt, *hash;
	long n;

	memset(out, 0, sizeof *out);
	if (!s)
		return pc_errf(err, errlen, PC_ERR_INVAL, "no password hash");
	if (strncmp(s, "$6$", 3) == 0) {
		out->kind = PC_PWHASH_SHA512;
		out->iterations = 1;
		p = s + 3;
	} else if (strncmp(s, "$7$", 3) == 0) {
		char *end;
		long it;

		out->kind = PC_PWHASH_PBKDF2_SHA512;
		p = s + 3;
		if (*p < '1' || *p > '9')
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "bad iteration count in $7$ hash");
		errno = 0;
		it = strtol(p, &end, 10);
		if (errno || *end != '$' || it < 1 || it > PC_PWHASH_ITER_MAX)
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "bad iteration count in $7$ hash (1..%d)",
			               PC_PWHASH_ITER_MAX);
		out->iterations = (int)it;
		p = end + 1;
	} else {
		return pc_errf(err, errlen, PC_ERR_INVAL,
		               "unknown password hash format (want $6$ or $7$)");
	}
	salt = p;
	hash = strchr(salt, '$');
	if (!hash)
		return pc_errf(err, errlen, PC_ERR_INVAL, "password hash has no hash part");
	n = b64_decode(salt, (size_t)(hash - salt), out->salt, sizeof out->salt);
	if (n < 1)
		return pc_errf(err, errlen, PC_ERR_INVAL,
		               "bad salt in password hash (base64 of 1..%d bytes)",
		               PC_PWHASH_SALT_MAX);
	out->salt_len = (size_t)n;
	hash++;
	n = b64_decode(hash, strlen(hash), out->hash, sizeof out->hash);
	if (n != PC_PWHASH_LEN)
		return pc_errf(err, errlen, PC_ERR_INVAL,
		               "bad hash in password hash (base64 of %d bytes)", PC_PWHASH_LEN);
	return PC_OK;
}

static bool compute(const struct pc_pwhash *h, const char *password, size_t len,
                    unsigned char out[PC_PWHASH_LEN])
{
	if (len > INT_MAX)
		return false;
	if (h->kind == PC_PWHASH_SHA512) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		unsigned int n = 0;
		bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
		          EVP_DigestUpdate(ctx, password, len) == 1 &&
		          EVP_DigestUpdate(ctx, h->salt, h->salt_len) == 1 &&
		          EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == PC_PWHASH_LEN;

		EVP_MD_CTX_free(ctx);
		return ok;
	}
	return PKCS5_PBKDF2_HMAC(password, (int)len, h->salt, (int)h->salt_len, h->iterations,
	                         EVP_sha512(), PC_PWHASH_LEN, out) == 1;
}

bool pc_pwhash_verify(const struct pc_pwhash *h, const char *password, size_t len)
{
	unsigned char got[PC_PWHASH_LEN];
	bool ok;

	if (!compute(h, password, len, got))
		return false;
	ok = CRYPTO_memcmp(got, h->hash, PC_PWHASH_LEN) == 0;
	OPENSSL_cleanse(got, sizeof got);
	return ok;
}

int pc_pwhash_format(const struct pc_pwhash *h, char *buf, size_t buflen)
{
	char salt[PC_PWHASH_SALT_MAX / 3 * 4 + 8], hash[PC_PWHASH_LEN / 3 * 4 + 8];
	int n;

	if (b64_encode(h->salt, h->salt_len, salt, sizeof salt) < 0 ||
	    b64_encode(h->hash, PC_PWHASH_LEN, hash, sizeof hash) < 0)
		return PC_ERR_TOO_LONG;
	if (h->kind == PC_PWHASH_SHA512)
		n = snprintf(buf, buflen, "$6$%s$%s", salt, hash);
	else
		n = snprintf(buf, buflen, "$7$%d$%s$%s", h->iterations, salt, hash);
	if (n < 0 || (size_t)n >= buflen)
		return PC_ERR_TOO_LONG;
	return n;
}

int pc_pwhash_make(char *buf, size_t buflen, const char *password, size_t len, int iterations,
                   size_t salt_len, char *err, size_t errlen)
{
	struct pc_pwhash h;
	int n;

	if (!password || len == 0)
		return pc_errf(err, errlen, PC_ERR_INVAL, "empty password");
	if (iterations < 1 || iterations > PC_PWHASH_ITER_MAX)
		return pc_errf(err, errlen, PC_ERR_INVAL, "iterations must be 1..%d",
		               PC_PWHASH_ITER_MAX);
	if (salt_len < 1 || salt_len > PC_PWHASH_SALT_MAX)
		return pc_errf(err, errlen, PC_ERR_INVAL, "salt length must be 1..%d",
		               PC_PWHASH_SALT_MAX);
	memset(&h, 0, sizeof h);
	h.kind = PC_PWHASH_PBKDF2_SHA512;
	h.iterations = iterations;
	h.salt_len = salt_len;
	if (RAND_bytes(h.salt, (int)salt_len) != 1)
		return pc_errf(err, errlen, PC_ERR_IO, "no random bytes for the salt");
	if (!compute(&h, password, len, h.hash))
		return pc_errf(err, errlen, PC_ERR_IO, "PBKDF2 failed");
	n = pc_pwhash_format(&h, buf, buflen);
	OPENSSL_cleanse(&h, sizeof h);
	if (n < 0)
		return pc_errf(err, errlen, PC_ERR_TOO_LONG, "hash buffer too small");
	return PC_OK;
}
