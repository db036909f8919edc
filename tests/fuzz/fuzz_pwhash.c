/*
 * fuzz_pwhash.c - the password-hash parser (common/pwhash.c): the $6$ and $7$
 * text forms a registry record holds, as the auth plugin reads them.
 *
 * Input: one hash text (as a C string: a NUL ends it). Properties: an
 * accepted hash has its iteration count, salt and hash within the format's
 * bounds, and since the parser accepts only canonical text,
 * pc_pwhash_format writes back exactly the input; verification (when the
 * iteration count is small enough to afford) accepts the password whose
 * PBKDF2 / SHA-512 is put in the hash, computed here through OpenSSL, and
 * refuses it once one bit of the hash is flipped.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fuzz.h"
#include "precis/error.h"
#include "precis/pwhash.h"

/* PBKDF2 rounds a single input may cost (1000 take about 0.5 ms). */
#define VERIFY_ITER_MAX 1000

static void reference_hash(const struct pc_pwhash *h, const char *pw, size_t len,
                           unsigned char out[PC_PWHASH_LEN])
{
	if (h->kind == PC_PWHASH_SHA512) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		unsigned n = 0;

		FUZZ_CHECK(ctx && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
		           EVP_DigestUpdate(ctx, pw, len) == 1 &&
		           EVP_DigestUpdate(ctx, h->salt, h->salt_len) == 1 &&
		           EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == PC_PWHASH_LEN);
		EVP_MD_CTX_free(ctx);
		return;
	}
	FUZZ_CHECK(PKCS5_PBKDF2_HMAC(pw, (int)len, h->salt, (int)h->salt_len, h->iterations,
	                             EVP_sha512(), PC_PWHASH_LEN, out) == 1);
}

/* LLVMFuzzerTestOneInput - contract in fuzz.h; the input is the one described at the top. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), text[PC_PWHASH_TEXT_MAX + 1], err[256];
	struct pc_pwhash h, again;
	static const char pw[] = "correct horse";
	int n;

	err[0] = '\0';
	if (pc_pwhash_parse(s, &h, err, sizeof err) != PC_OK) {
		FUZZ_CHECK(err[0] != '\0');
		free(s);
		return 0;
	}
	FUZZ_CHECK(h.kind == PC_PWHASH_SHA512 || h.kind == PC_PWHASH_PBKDF2_SHA512);
	FUZZ_CHECK(h.iterations >= 1 && h.iterations <= PC_PWHASH_ITER_MAX);
	FUZZ_CHECK(h.kind == PC_PWHASH_PBKDF2_SHA512 || h.iterations == 1);
	FUZZ_CHECK(h.salt_len >= 1 && h.salt_len <= PC_PWHASH_SALT_MAX);

	n = pc_pwhash_format(&h, text, sizeof text);
	FUZZ_CHECK(n > 0 && (size_t)n == strlen(s));
	FUZZ_CHECK(strcmp(text, s) == 0);
	FUZZ_CHECK(pc_pwhash_parse(text, &again, NULL, 0) == PC_OK);
	FUZZ_CHECK(memcmp(&h, &again, sizeof h) == 0);
	/* Too small a buffer is refused. */
	FUZZ_CHECK(pc_pwhash_format(&h, text, (size_t)n) == PC_ERR_TOO_LONG);

	if (h.iterations <= VERIFY_ITER_MAX) {
		reference_hash(&h, pw, sizeof pw - 1, h.hash);
		FUZZ_CHECK(pc_pwhash_verify(&h, pw, sizeof pw - 1));
		h.hash[size % PC_PWHASH_LEN] ^= (unsigned char)(1u << (size % 8));
		FUZZ_CHECK(!pc_pwhash_verify(&h, pw, sizeof pw - 1));
	}
	free(s);
	return 0;
}
