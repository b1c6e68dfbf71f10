/*
 * milter_noop.c - the milter protocol's ceiling for the benchmark: a libmilter
 * filter that checks nothing and negotiates what reinject's milter listener
 * negotiates (no DATA and UNKNOWN steps, no reply to any step before the end
 * of the message, HDR_LEADSPC), so it costs the same round trips and packets.
 *
 *   milter_noop unix:/path | inet:port@127.0.0.1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

/* noop_negotiate - the steps and flags reinject asks for */
static sfsistat
noop_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIP_NODATA | SMFIP_NOUNKNOWN | SMFIP_NR_CONN |
	    SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA |
	    SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NR_HDR |
	    SMFIP_HDR_LEADSPC;

	(void)ctx;
	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
	*pf1 = f1 & want;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

/* noop_step - every step before the end: no reply */
static sfsistat
noop_step(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

/* noop_connect - no reply */
static sfsistat
noop_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)host;
	(void)sa;
	return noop_step(ctx);
}

/* noop_args - HELO, MAIL, RCPT: no reply */
static sfsistat
noop_args(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return noop_step(ctx);
}

/* noop_helo - no reply */
static sfsistat
noop_helo(SMFICTX *ctx, char *helo)
{
	(void)helo;
	return noop_step(ctx);
}

/* noop_header - no reply */
static sfsistat
noop_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return noop_step(ctx);
}

/* noop_body - no reply */
static sfsistat
noop_body(SMFICTX *ctx, unsigned char *p, size_t len)
{
	(void)p;
	(void)len;
	return noop_step(ctx);
}

/* noop_eom - accept */
static sfsistat
noop_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

int
main(int argc, char **argv)
{
	struct smfiDesc d;

	if (argc != 2) {
		fprintf(stderr, "usage: milter_noop unix:/path|inet:port@addr\n");
		return 2;
	}
	memset(&d, 0, sizeof(d));
	d.xxfi_name = "noop";
	d.xxfi_version = SMFI_VERSION;
	d.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
	d.xxfi_connect = noop_connect;
	d.xxfi_helo = noop_helo;
	d.xxfi_envfrom = noop_args;
	d.xxfi_envrcpt = noop_args;
	d.xxfi_header = noop_header;
	d.xxfi_eoh = noop_step;
	d.xxfi_body = noop_body;
	d.xxfi_eom = noop_eom;
	d.xxfi_negotiate = noop_negotiate;
	if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(d) == MI_FAILURE)
		return 1;
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
