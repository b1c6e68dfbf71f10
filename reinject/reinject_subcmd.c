/*
 * reinject_subcmd.c - "reinject keygen|testkey ...": the DKIM key tools
 * (reinject_tools.h), chosen by meson when they are built; and "reinject
 * dmarc-check DOMAIN ...", the DMARC record check (reinject_dmarc.h, the RFC 9989
 * "DNS Tree Walk"), the same code as the standalone dmarc-check(8); and
 * "reinject doctor", the check of a domain's outbound setup (reinject_doctor.h).
 */
#include <string.h>

#include "reinject.h"
#include "reinject_dmarc.h"
#include "reinject_doctor.h"
#include "reinject_tools.h"

/* reinject_subcmd - run a subcommand; -1 when argv[1] names none */
int
reinject_subcmd(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "keygen") == 0)
		return reinject_keygen_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "testkey") == 0)
		return reinject_testkey_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "import") == 0)
		return reinject_foreign_import_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "dmarc-check") == 0)
		return reinject_dmarccheck_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "doctor") == 0)
		return reinject_doctor_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return reinject_report_main(argc - 1, argv + 1);
	return -1;
}
