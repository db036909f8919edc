/*
 * test_bridge_config.c - unit tests for bridge/config.c: defaults, a file with
 * comments, flags overriding the file, segment and experiment keys, and
 * refusals that name the key (and the file line), the reload rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "cu_run.h"
#include "precis/error.h"

static char path[64];

static void write_file(const char *text)
{
	int fd;
	FILE *f;

	strcpy(path, "/tmp/precis-bridge-conf-XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

static void test_defaults(void)
{
	struct br_config c;
	char err[512];

	CU_ASSERT_EQUAL(br_config_load(&c, NULL, 0, NULL, err, sizeof err), PC_OK);
	CU_ASSERT_STRING_EQUAL(c.mqtt_host, "127.0.0.1");
	CU_ASSERT_EQUAL(c.mqtt_port, 1883);
	CU_ASSERT_EQUAL(c.k, 40);
	CU_ASSERT_EQUAL(c.debounce_ms, 200);
	CU_ASSERT_DOUBLE_EQUAL(c.weight[0], 1, 0);
	CU_ASSERT_DOUBLE_EQUAL(c.weight[3], 5, 0);
	CU_ASSERT_STRING_EQUAL(c.share_group, "precis-bridge");
	br_config_cleanup(&c);
}

static void test_file_and_flags(void)
{
	struct br_config c;
	char err[512], a0[] = "--mqtt-port", a1[] = "2883", a2[] = "--segment.fans",
	               a3[] = "tag:music", a4[] = "--weight_view", a5[] = "0.5";
	char *argv[] = {a0, a1, a2, a3, a4, a5};

	write_file("# a comment\n\nmqtt_port = 1999\nk=25\n  similarity = pearson  \n"
	           "segment.vip = rfm.r >= 4 && tag:electronics\n"
	           "experiment.reco = A=user_knn:50 B=popular:50\nreco_experiment = reco\n"
	           "shrinkage = 12.5\n");
	CU_ASSERT_EQUAL(br_config_load(&c, path, 6, argv, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(c.mqtt_port, 2883); /* the flag wins */
	CU_ASSERT_EQUAL(c.k, 25);
	CU_ASSERT_EQUAL(c.similarity, 2);
	CU_ASSERT_DOUBLE_EQUAL(c.shrinkage, 12.5, 0);
	CU_ASSERT_DOUBLE_EQUAL(c.weight[0], 0.5, 0);
	CU_ASSERT_EQUAL(c.nsegments, 2);
	CU_ASSERT_STRING_EQUAL(c.segments[0].id, "vip");
	CU_ASSERT_STRING_EQUAL(c.segments[1].spec, "tag:music");
	CU_ASSERT_EQUAL(c.nexperiments, 1);
	br_config_cleanup(&c);
	unlink(path);
}

static void test_refusals(void)
{
	static const struct {
		const char *file, *detail;
	} t[] = {
	    {"bogus = 1\n", "bogus"},
	    {"mqtt_port = 70000\n", ":1: mqtt_port"},
	    {"k = 5\nk = 6\n", "k"},
	    {"\nweight_cart = heavy\n", "weight_cart"},
	    {"shrinkage = -1\n", "shrinkage"},
	    {"just words\n", ":1: expected 'key = value'"},
	    {"segment.vip = rfm.r >=\n", ":1: segment.vip: at"},
	    {"segment.a/b = true\n", "segment.a/b: bad id"},
	    {"segment.x = true\nsegment.x = false\n", "given twice"},
	    {"experiment.e = A=user_knn:60\n", "experiment.e: percentages"},
	    {"reco_experiment = nope\n", "reco_experiment"},
	    {"algo = magic\n", "algo"},
	    {"debounce = 5 parsecs\n", "debounce"},
	    {"topic_root = /x\n", "topic_root"},
	    {"share_group = a+b\n", "share_group"},
	    {"reconnect_min = 10s\nreconnect_max = 5s\n", "reconnect_min"},
	    {"mqtt_password_file = /nonexistent/pw\n", "mqtt_password_file"},
	};
	struct br_config c;
	char err[512];
	size_t k;

	for (k = 0; k < sizeof t / sizeof t[0]; k++) {
		write_file(t[k].file);
		err[0] = '\0';
		CU_ASSERT_NOT_EQUAL(br_config_load(&c, path, 0, NULL, err, sizeof err), PC_OK);
		if (!strstr(err, t[k].detail))
			fprintf(stderr, "\n  %s-> '%s'\n", t[k].file, err);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, t[k].detail));
		br_config_cleanup(&c);
		unlink(path);
	}
	CU_ASSERT_NOT_EQUAL(
	    br_config_load(&c, "/nonexistent/bridge.conf", 0, NULL, err, sizeof err), PC_OK);
	br_config_cleanup(&c);
	{
		char a0[] = "--k";
		char *argv[] = {a0};
		CU_ASSERT_NOT_EQUAL(br_config_load(&c, NULL, 1, argv, err, sizeof err), PC_OK);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "--k needs a value"));
		br_config_cleanup(&c);
	}
}

/* A flag's refusal names the flag as it was typed, and argv is left as it was. */
static void test_flag_refusals_name_the_flag(void)
{
	static const struct {
		const char *a0, *a1; /* a1 NULL: the flag alone */
		const char *detail;
	} t[] = {
	    {"--no-such-flag", "1", "unknown flag '--no-such-flag'"},
	    {"--mqtt-port", "abc", "--mqtt-port: 'abc' is not an integer"},
	    {"--mqtt_port", "70000", "--mqtt_port: 70000 is out of range"},
	    {"mqtt-port", "1", "unexpected argument 'mqtt-port'"},
	    {"--segment.x", "rfm.r >=", "--segment.x: at"},
	    {"--segment.", "true", "unknown flag '--segment.'"},
	    {"--min-support", NULL, "--min-support needs a value"},
	    {"--algo", "magic", "--algo: 'magic' is not one of"},
	};
	static const char *const bools[] = {"json", NULL};
	static const struct pc_opt_def defs[] = {
	    {"min_support", PC_OPT_INT, 0, "1", 1, 10, NULL, "x"},
	    {"json", PC_OPT_BOOL, 0, "false", 0, 0, NULL, "x"},
	};
	struct br_config c;
	char err[512], a0[64], a1[64];
	size_t k;

	for (k = 0; k < sizeof t / sizeof t[0]; k++) {
		char *argv[] = {a0, a1};

		snprintf(a0, sizeof a0, "%s", t[k].a0);
		snprintf(a1, sizeof a1, "%s", t[k].a1 ? t[k].a1 : "");
		err[0] = '\0';
		CU_ASSERT_NOT_EQUAL(
		    br_config_load(&c, NULL, t[k].a1 ? 2 : 1, argv, err, sizeof err), PC_OK);
		if (!strstr(err, t[k].detail))
			fprintf(stderr, "\n  %s %s -> '%s'\n", t[k].a0, t[k].a1 ? t[k].a1 : "",
			        err);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, t[k].detail));
		CU_ASSERT_STRING_EQUAL(a0, t[k].a0);
		br_config_cleanup(&c);
	}
	snprintf(a0, sizeof a0, "--mqtt-port");
	snprintf(a1, sizeof a1, "1884");
	{
		char *argv[] = {a0, a1};

		CU_ASSERT_EQUAL(br_config_load(&c, NULL, 2, argv, err, sizeof err), PC_OK);
		CU_ASSERT_EQUAL(c.mqtt_port, 1884);
		CU_ASSERT_STRING_EQUAL(a0, "--mqtt-port"); /* the same flags serve a reload */
		br_config_cleanup(&c);
	}
	/* eval's flags: a bool takes no value; the others do. */
	{
		char f0[] = "--json", f1[] = "--min-support", f2[] = "3", f3[] = "--min-support";
		char *ok[] = {f0, f1, f2}, *bad[] = {f0, f3};

		CU_ASSERT_EQUAL(br_flags_check(3, ok, defs, 2, NULL, bools, err, sizeof err),
		                PC_OK);
		CU_ASSERT_NOT_EQUAL(br_flags_check(2, bad, defs, 2, NULL, bools, err, sizeof err),
		                    PC_OK);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "--min-support needs a value"));
	}
}

static void test_password_file_and_reload_rules(void)
{
	struct br_config a, b;
	char err[512], pw[64], line[128];
	const char *key;
	int fd;
	FILE *f;

	strcpy(pw, "/tmp/precis-bridge-pw-XXXXXX");
	fd = mkstemp(pw);
	f = fdopen(fd, "w");
	fputs("s3cret\n", f);
	fclose(f);
	snprintf(line, sizeof line, "mqtt_password_file = %s\nk = 10\n", pw);
	write_file(line);
	CU_ASSERT_EQUAL(br_config_load(&a, path, 0, NULL, err, sizeof err), PC_OK);
	CU_ASSERT_STRING_EQUAL(a.mqtt_password, "s3cret");
	unlink(path);
	write_file("k = 30\nsegment.s = true\n");
	snprintf(line, sizeof line, "--mqtt-password-file");
	{
		char *argv[] = {line, pw};
		CU_ASSERT_EQUAL(br_config_load(&b, path, 2, argv, err, sizeof err), PC_OK);
	}
	CU_ASSERT_TRUE(br_config_reloadable(&a, &b, &key)); /* model and segments may change */
	br_config_cleanup(&b);
	unlink(path);
	write_file("mqtt_port = 1884\n");
	{
		char *argv[] = {line, pw};
		CU_ASSERT_EQUAL(br_config_load(&b, path, 2, argv, err, sizeof err), PC_OK);
	}
	CU_ASSERT_FALSE(br_config_reloadable(&a, &b, &key));
	CU_ASSERT_STRING_EQUAL(key, "mqtt_port");
	br_config_cleanup(&b);
	br_config_cleanup(&a);
	unlink(path);
	unlink(pw);
}

static CU_TestInfo tests[] = {
    {"defaults", test_defaults},
    {"file, flags, segment and experiment keys", test_file_and_flags},
    {"refusals name the key", test_refusals},
    {"flag refusals name the flag as typed", test_flag_refusals_name_the_flag},
    {"password file, reload rules", test_password_file_and_reload_rules},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("config", tests);
}
