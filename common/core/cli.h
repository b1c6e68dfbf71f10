/*
 * cli.h - what every program's command line shares: --help, --version and
 * the exit statuses of sysexits.h (EX_USAGE 64, EX_DATAERR 65,
 * EX_UNAVAILABLE 69, EX_SOFTWARE 70, EX_TEMPFAIL 75, EX_CONFIG 78).
 */
#ifndef MAILAUTH_CLI_H
#define MAILAUTH_CLI_H

#include <stdio.h>
#include <sysexits.h>

/* cli_version_string - "0.1.0" or "0.1.0 (git 5685039-dirty)" */
const char *cli_version_string(void);

/*
 * cli_std - when argv (before a "--") holds --help or --version, print the
 * help text (usage) or the version of prog on stdout and return EX_OK;
 * otherwise return -1 and leave the arguments to the caller.
 */
int cli_std(int argc, char **argv, const char *prog, const char *usage);

/* cli_usage - usage on stderr, returns EX_USAGE */
int cli_usage(const char *usage);

#endif
