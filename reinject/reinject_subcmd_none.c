/*
 * reinject_subcmd_none.c - build without the DKIM key tools: only "reinject
 * dmarc-check" (reinject_dmarc.h), which does not need them.
 */
#include <stdio.h>
#include <string.h>

#include "reinject.h"
#include "reinject_dmarc.h"

/* reinject_subcmd - run a subcommand; -1 when argv[1] names none */
int
reinject_subcmd(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "import") == 0)
		return reinject_foreign_import_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "dmarc-check") == 0)
		return reinject_dmarccheck_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return reinject_report_main(argc - 1, argv + 1);
	if (argc > 1 && (strcmp(argv[1], "keygen") == 0 ||
	    strcmp(argv[1], "testkey") == 0)) {
		fprintf(stderr, "reinject: built without the key tools\n");
		return 2;
	}
	return -1;
}
