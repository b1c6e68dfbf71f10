/*
 * reinject_tools_main.c - "reinject-tools keygen|testkey ...": the administrator
 * subcommands as a standalone program (the daemon's main dispatches to the same
 * functions as "reinject keygen" and "reinject testkey").
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "reinject_tools.h"

#define TOOLS_USAGE \
	"usage: reinject-tools keygen|testkey [options] (--help for each)\n" \
	"       reinject-tools --help | --version\n" \
	"exit status: as reinject keygen and reinject testkey; 64 usage\n"

/* main - dispatch to keygen or testkey */
int
main(int argc, char **argv)
{
	int rc;

	log_open("reinject", LOG_DEST_STDERR);
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return reinject_keygen_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "testkey") == 0)
		return reinject_testkey_main(argc - 1, argv + 1);
	if ((rc = cli_std(argc, argv, "reinject-tools", TOOLS_USAGE)) >= 0)
		return rc;
	return cli_usage(TOOLS_USAGE);
}
