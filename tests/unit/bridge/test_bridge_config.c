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
    {"password file, reload rules", test_password_file_and_reload_rules},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("config", tests);
}
