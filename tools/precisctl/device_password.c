/*
 * device_password.c - where a principal's password comes from, its checks
 * and its hash, for `device add` and `device passwd` (device.c).
 *
 * A password is given with --password, read as one line from standard
 * input (--password-stdin, or whenever stdin is not a terminal), made up
 * (--generate: 24 characters from /dev/urandom, printed once by the
 * caller) or prompted for twice without echo. Every error names the source
 * it came from. Hashes are Mosquitto's $7$ (PBKDF2-SHA512) with a 12-byte
 * salt, --iterations rounds (101 by default, as mosquitto_passwd).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "device.h"
#include "precis/error.h"
#include "precis/options.h"
#include "precis/pwhash.h"

int dev__parse_iterations(const char *s, int *out)
{
	int64_t v;

	if (pc_parse_int(s, &v) != PC_OK || v < 1 || v > PC_PWHASH_ITER_MAX)
		return ctl_error(CTL_USAGE, "--iterations: '%s' is not an integer in 1..%d", s,
		                 PC_PWHASH_ITER_MAX);
	*out = (int)v;
	return CTL_OK;
}

int dev__check_password(const char *pw, const char *from)
{
	if (!pw || !pw[0])
		return ctl_error(CTL_USAGE, "%s: empty password", from);
	for (const unsigned char *p = (const unsigned char *)pw; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return ctl_error(CTL_USAGE, "%s: the password contains a control character",
			                 from);
	}
	return CTL_OK;
}

/* Read one line (no newline) into buf, without echo when stdin is a terminal. */
static int read_password(const char *prompt, char *buf, size_t buflen)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO);
	size_t n;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	}
	if (!fgets(buf, (int)buflen, stdin))
		buf[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fputc('\n', stderr);
	}
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == buflen - 1)
		return ctl_error(CTL_USAGE, "password longer than %zu bytes", buflen - 2);
	buf[n] = '\0';
	return CTL_OK;
}

int dev__password(const struct dev__pw *src, char *buf, size_t buflen)
{
	const char *from = "the prompt";
	int rc;

	if (src->given) {
		from = "--password";
		if (strlen(src->given) >= buflen)
			return ctl_error(CTL_USAGE, "--password: longer than %zu bytes",
			                 buflen - 1);
		snprintf(buf, buflen, "%s", src->given);
	} else if (src->generate) {
		static const char alphabet[] =
		    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
		unsigned char raw[24];
		FILE *f = fopen("/dev/urandom", "rb");

		if (!f || fread(raw, 1, sizeof raw, f) != sizeof raw) {
			if (f)
				fclose(f);
			return ctl_error(CTL_ERR, "cannot read /dev/urandom");
		}
		fclose(f);
		for (size_t i = 0; i < sizeof raw && i + 1 < buflen; i++)
			buf[i] = alphabet[raw[i] % (sizeof alphabet - 1)];
		buf[sizeof raw < buflen ? sizeof raw : buflen - 1] = '\0';
	} else if (src->from_stdin || !isatty(STDIN_FILENO)) {
		from = src->from_stdin ? "--password-stdin"
		                       : "standard input (not a terminal; give "
		                         "--password, --password-stdin or "
		                         "--generate)";
		rc = read_password("", buf, buflen);
		if (rc != CTL_OK)
			return rc;
	} else {
		char again[DEV_PW_MAX + 2];

		rc = read_password("password: ", buf, buflen);
		if (rc == CTL_OK)
			rc = read_password("again: ", again, sizeof again);
		if (rc != CTL_OK)
			return rc;
		if (strcmp(buf, again) != 0)
			return ctl_error(CTL_USAGE, "the passwords differ");
	}
	return dev__check_password(buf, from);
}

int dev__check_pw_source(const struct dev__pw *src)
{
	if ((src->given != NULL) + src->from_stdin + src->generate > 1)
		return ctl_error(CTL_USAGE,
		                 "--password, --password-stdin and --generate exclude each other");
	return CTL_OK;
}

int dev__hash(const char *pw, int iterations, char *hash, size_t hashlen)
{
	char err[200];

	if (pc_pwhash_make(hash, hashlen, pw, strlen(pw), iterations, 12, err, sizeof err) != PC_OK)
		return ctl_error(CTL_ERR, "cannot hash the password: %s", err);
	return CTL_OK;
}
