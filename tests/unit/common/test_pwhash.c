/*
 * test_pwhash.c - unit tests for common/pwhash.c.
 *
 * The $7$ vectors were written by Mosquitto 2.0.11's own mosquitto_passwd
 * (101 and 1000 iterations, a UTF-8 password); the $6$ vector and the
 * 64-byte-salt $7$ vector (the 2.1 salt size) by Python's hashlib with a
 * fixed salt. Also: malformed strings refused with a reason, canonical
 * base64 only, make/parse/verify round trips, format(parse(s)) == s.
 */
#include <stdio.h>
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/pwhash.h"

struct vector {
	const char *hash, *password;
	int kind, iterations;
	size_t salt_len;
};

static const struct vector vectors[] = {
    {"$7$101$gxAIwKR1gKrbO6xS$tX3J6DOndlbQqTxVdW5dXYOmD6zlv3w36e4b03/8XzZmXZ72saNKz/QmHdeX8rTlVW"
     "WNtSczwMtlav15uvOOlw==",
     "secret", 7, 101, 12},
    {"$7$101$WjJGtMG8t0TD95+n$Pe3+twejlKy+dIMTpqPi9pfM0HR+5o9hzml9nGaiZIwbgC3h+kSmCmkV54WjCo2oU7"
     "wEn/QOPZTRiS+zcMmQ5w==",
     "p\xc3\xa4ssw\xc3\xb6rd with spaces", 7, 101, 12},
    {"$7$1000$dzE/syRao4Ae8P7S$gujvbtnR9oPusNX2YUovYz+gaz+rfgQFZBY7tBGXuNjzj6NYJe8VMcYFbreHNYMgTA"
     "BrWNkxoV7vw4SMNMv1uw==",
     "a", 7, 1000, 12},
    {"$6$AAECAwQFBgcICQoL$JqsxEv/ucyxjA5DKsQ+Y8CDWaQDNQI9FpAkmfwAqWfwZLk/JEGgM0EpylrJHAZKKyFQjJe"
     "Z3nFaHjPzOzPPmPw==",
     "secret", 6, 1, 12},
    {"$7$3$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw"
     "==$LdPLJHfoZMCnePZyPsQzMkxxpf5ECcBvpCluAXmrQf8jYbveddVWOjFdScXTslD0t19rF/RithPmYzL0BNF4ig=="
     "",
     "long-salt", 7, 3, 64},
};

#define NVEC (sizeof vectors / sizeof vectors[0])

static void test_known_vectors(void)
{
	for (size_t i = 0; i < NVEC; i++) {
		const struct vector *v = &vectors[i];
		struct pc_pwhash h;
		char err[256] = "", back[PC_PWHASH_TEXT_MAX + 1];
		char wrong[64];

		CU_ASSERT_EQUAL_FATAL(pc_pwhash_parse(v->hash, &h, err, sizeof err), PC_OK);
		CU_ASSERT_EQUAL((int)h.kind, v->kind);
		CU_ASSERT_EQUAL(h.iterations, v->iterations);
		CU_ASSERT_EQUAL(h.salt_len, v->salt_len);
		CU_ASSERT_TRUE(pc_pwhash_verify(&h, v->password, strlen(v->password)));
		/* One byte off, one byte short, one byte more: all refused. */
		snprintf(wrong, sizeof wrong, "%s", v->password);
		wrong[0] ^= 1;
		CU_ASSERT_FALSE(pc_pwhash_verify(&h, wrong, strlen(wrong)));
		CU_ASSERT_FALSE(pc_pwhash_verify(&h, v->password, strlen(v->password) - 1));
		snprintf(wrong, sizeof wrong, "%sx", v->password);
		CU_ASSERT_FALSE(pc_pwhash_verify(&h, wrong, strlen(wrong)));
		CU_ASSERT_FALSE(pc_pwhash_verify(&h, "", 0));
		/* Formatting what was parsed gives the same text back. */
		CU_ASSERT(pc_pwhash_format(&h, back, sizeof back) > 0);
		CU_ASSERT_STRING_EQUAL(back, v->hash);
		CU_ASSERT_EQUAL(pc_pwhash_format(&h, back, 20), PC_ERR_TOO_LONG);
	}
}

struct bad_case {
	const char *hash, *why;
};

static void test_malformed_refused(void)
{
	static const char good_hash[] = "tX3J6DOndlbQqTxVdW5dXYOmD6zlv3w36e4b03/8XzZmXZ72saNKz/"
	                                "QmHdeX8rTlVWWNtSczwMtlav15uvOOlw==";
	char buf[400];
	static const struct bad_case cases[] = {
	    {"", "unknown password hash format"},
	    {"secret", "unknown password hash format"},
	    {"$5$abc$def", "unknown password hash format"},
	    {"$7$", "bad iteration count"},
	    {"$7$0$gxAIwKR1gKrbO6xS$x", "bad iteration count"},
	    {"$7$-1$gxAIwKR1gKrbO6xS$x", "bad iteration count"},
	    {"$7$0101$gxAIwKR1gKrbO6xS$x", "bad iteration count"}, /* leading zero */
	    {"$7$10x$gxAIwKR1gKrbO6xS$x", "bad iteration count"},
	    {"$7$99999999999$gxAIwKR1gKrbO6xS$x", "bad iteration count"},
	    {"$7$101$gxAIwKR1gKrbO6xS", "no hash part"},
	    {"$7$101$$x", "bad salt"},
	    {"$7$101$gxAIwKR1gKrbO6x$x", "bad salt"},     /* length not a multiple of 4 */
	    {"$7$101$gxAIwKR1gKrbO6x!$x", "bad salt"},    /* not in the alphabet */
	    {"$7$101$gxAIwKR1gKrbO6xS$tX3J", "bad hash"}, /* 3 bytes, not 64 */
	    {"$6$AAECAwQFBgcICQoL$", "bad hash"},         /* empty hash */
	    {"$6$AAECAwQFBgcICQoL$====", "bad hash"},     /* padding only */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pc_pwhash h;
		char err[256] = "";

		CU_ASSERT_EQUAL(pc_pwhash_parse(cases[i].hash, &h, err, sizeof err), PC_ERR_INVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].why));
		if (!strstr(err, cases[i].why))
			fprintf(stderr, "\n  '%s': '%s'\n", cases[i].hash, err);
	}
	{
		struct pc_pwhash h;

		CU_ASSERT_EQUAL(pc_pwhash_parse(NULL, &h, NULL, 0), PC_ERR_INVAL);
	}
	/* Non-canonical base64: the last character's unused bits set ('w' -> 'x'). */
	snprintf(buf, sizeof buf, "$7$101$gxAIwKR1gKrbO6xS$%.*sx==", (int)strlen(good_hash) - 3,
	         good_hash);
	{
		struct pc_pwhash h;
		char err[256] = "";

		CU_ASSERT_EQUAL(pc_pwhash_parse(buf, &h, err, sizeof err), PC_ERR_INVAL);
	}
	/* Trailing text after the hash. */
	snprintf(buf, sizeof buf, "$7$101$gxAIwKR1gKrbO6xS$%s$", good_hash);
	{
		struct pc_pwhash h;

		CU_ASSERT_EQUAL(pc_pwhash_parse(buf, &h, NULL, 0), PC_ERR_INVAL);
	}
	/* Data after '=' padding inside the text. */
	snprintf(buf, sizeof buf, "$7$101$gxAIwKR1gKr=O6xS$%s", good_hash);
	{
		struct pc_pwhash h;

		CU_ASSERT_EQUAL(pc_pwhash_parse(buf, &h, NULL, 0), PC_ERR_INVAL);
	}
}

static void test_make_round_trip(void)
{
	static const struct {
		const char *password;
		int iterations;
		size_t salt_len;
	} cases[] = {
	    {"secret", 101, 12},
	    {"x", 1, 1},
	    {"\xe2\x82\xac uro", 1000, 64},
	    {"pw", 7, 16},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[PC_PWHASH_TEXT_MAX + 1], buf2[PC_PWHASH_TEXT_MAX + 1], err[256] = "";
		struct pc_pwhash h;
		const char *pw = cases[i].password;

		CU_ASSERT_EQUAL_FATAL(pc_pwhash_make(buf, sizeof buf, pw, strlen(pw),
		                                     cases[i].iterations, cases[i].salt_len, err,
		                                     sizeof err),
		                      PC_OK);
		CU_ASSERT_EQUAL(strncmp(buf, "$7$", 3), 0);
		CU_ASSERT_EQUAL_FATAL(pc_pwhash_parse(buf, &h, err, sizeof err), PC_OK);
		CU_ASSERT_EQUAL(h.iterations, cases[i].iterations);
		CU_ASSERT_EQUAL(h.salt_len, cases[i].salt_len);
		CU_ASSERT_TRUE(pc_pwhash_verify(&h, pw, strlen(pw)));
		CU_ASSERT_FALSE(pc_pwhash_verify(&h, "other", 5));
		/* A fresh salt every time. */
		CU_ASSERT_EQUAL(pc_pwhash_make(buf2, sizeof buf2, pw, strlen(pw),
		                               cases[i].iterations, cases[i].salt_len, NULL, 0),
		                PC_OK);
		CU_ASSERT_STRING_NOT_EQUAL(buf, buf2);
	}
}

static void test_make_bad_arguments(void)
{
	char buf[PC_PWHASH_TEXT_MAX + 1], err[256];

	CU_ASSERT_EQUAL(pc_pwhash_make(buf, sizeof buf, "", 0, 101, 12, err, sizeof err),
	                PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty password"));
	CU_ASSERT_EQUAL(pc_pwhash_make(buf, sizeof buf, NULL, 3, 101, 12, NULL, 0), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_pwhash_make(buf, sizeof buf, "pw", 2, 0, 12, NULL, 0), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(
	    pc_pwhash_make(buf, sizeof buf, "pw", 2, PC_PWHASH_ITER_MAX + 1, 12, NULL, 0),
	    PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_pwhash_make(buf, sizeof buf, "pw", 2, 101, 0, NULL, 0), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_pwhash_make(buf, sizeof buf, "pw", 2, 101, 65, NULL, 0), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_pwhash_make(buf, 50, "pw", 2, 101, 12, err, sizeof err),
	                PC_ERR_TOO_LONG);
}

static CU_TestInfo tests[] = {
    {"vectors from mosquitto_passwd and hashlib", test_known_vectors},
    {"malformed hashes refused with a reason", test_malformed_refused},
    {"make, parse, verify round trips", test_make_round_trip},
    {"make refuses bad arguments", test_make_bad_arguments},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("pwhash", tests);
}
