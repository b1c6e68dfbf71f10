/*
 * reinject_dmarccheck_main.c - the standalone dmarc-check program (the same
 * code as "reinject dmarc-check").
 */
#include "reinject_dmarc.h"

/* main - run dmarc-check */
int
main(int argc, char **argv)
{
	return reinject_dmarccheck_main(argc, argv);
}
