/*
 * reinject_dmarccheck_main.c - the standalone dmarc-check program (the same
 * code as "reinject dmarc-check").
 */
int reinject_dmarccheck_main(int argc, char **argv);

/* main - run dmarc-check */
int
main(int argc, char **argv)
{
	return reinject_dmarccheck_main(argc, argv);
}
