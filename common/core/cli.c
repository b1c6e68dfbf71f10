/*
 * cli.c - --help, --version and the sysexits.h exit statuses shared by
 * every program (policyd(8), reinject(8), dmarc-check(8), reinject-tools).
 * The version is meson's project version plus "git describe --always
 * --dirty" when the tree was built from git.
 */
#include <string.h>

#include "cli.h"
#include "config_build.h"
#include "version.h"

/* cli_version_string - the project version and the git description */
const char *
cli_version_string(void)
{
	static char v[128];

	if (v[0] == '\0') {
		if (MAILAUTH_VCS[0] != '\0')
			snprintf(v, sizeof(v), "%s (git %s)", MAILAUTH_VERSION, MAILAUTH_VCS);
		else
			snprintf(v, sizeof(v), "%s", MAILAUTH_VERSION);
	}
	return v;
}

/* cli_std - answer --help or --version; -1 when neither was asked */
int
cli_std(int argc, char **argv, const char *prog, const char *usage)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return EX_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s (mailauth) %s\n", prog, cli_version_string());
			return EX_OK;
		}
	}
	return -1;
}

/* cli_usage - the synopsis on stderr; the usage exit status */
int
cli_usage(const char *usage)
{
	fputs(usage, stderr);
	return EX_USAGE;
}
