/*
 * reinject_keygen.c - "reinject keygen": a DKIM signing key and its DNS record.
 *
 * Writes <dir>/<selector>.private (PKCS#8 PEM, mode 0600, never overwritten
 * without -f), <dir>/<selector>.txt (a zone-file fragment: the TXT value split
 * into quoted strings of at most 255 octets, RFC 1035 §3.3.14 and RFC 6376
 * §3.6.2.2, and the single-line value as a comment) and <dir>/<selector>.value
 * (the single-line value alone, for DNS providers' web forms).  Key records per
 * RFC 6376 §3.6.1 (k=rsa, SubjectPublicKeyInfo) and RFC 8463 §4 (k=ed25519, raw
 * 32-byte key).  RSA sizes per RFC 8301 §3.2.
 *
 * With --next (key rollover, RFC 6376 §3.6.1): the key that follows the current
 * one, of its type and size, under the next selector, and the plan
 * "<current keyfile>.next" that tells reinject to switch to it once its record
 * is published (reinject_rollover.h, reinject-keygen(8)).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cli.h"
#include "dkim_table.h"
#include "reinject_tools.h"
#include "util.h"

#define KEYGEN_RSA_DEFAULT_BITS	2048
/* Longest path written; the directory must leave room for the file names. */
#define KEYGEN_PATH_MAX		4096

struct keygen_opts {
	enum dkim_alg alg;
	unsigned bits;
	const char *domain;
	const char *selector;
	const char *dir;
	bool force;
	bool testing;
	/* --next: the key after the current one */
	bool next;
	bool dir_given, type_given;
	const char *current;		/* -k: the current key file */
	const char *next_selector_opt;	/* -n */
	const char *cur_selector;	/* -s with --next */
	char cur_path[KEYGEN_PATH_MAX];
	char next_name[DKIM_TABLE_DOMAIN_MAX + 1];
	char dir_buf[KEYGEN_PATH_MAX];
};

#define KEYGEN_USAGE \
	"usage: reinject keygen [-t rsa|ed25519] [-b bits] -d domain " \
	"-s selector [-D dir] [-f] [-y]\n" \
	"       reinject keygen --next -d domain -s current_selector " \
	"[-n next_selector]\n" \
	"         [-k current_keyfile] [-D dir] [-b bits] [-f] [-y]\n" \
	"exit status: 0 written, 64 usage, 66 the current key is unreadable (--next),\n" \
	"  70 key generation failed,\n" \
	"  73 a file exists or cannot be written\n"

/* keygen_usage - the synopsis on stderr */
static int
keygen_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "reinject keygen: %s\n", why);
	fputs(KEYGEN_USAGE, stderr);
	return REINJECT_TOOL_USAGE;
}

/* keygen_name_ok - DNS label characters only (selector, domain) */
static bool
keygen_name_ok(const char *s)
{
	struct span sp = span_from_cstr(s);

	if (sp.len == 0 || sp.len > DKIM_TABLE_DOMAIN_MAX || s[0] == '.' ||
	    s[sp.len - 1] == '.' || strstr(s, "..") != NULL)
		return false;
	for (size_t i = 0; i < sp.len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
		    s[i] == '.'))
			return false;
	return true;
}

/*
 * keygen_next_name - the selector after cur: its trailing number plus one,
 * as wide as before ("rsa2026" -> "rsa2027", "s09" -> "s10"); -1 without one
 */
static int
keygen_next_name(const char *cur, char *out, size_t size)
{
	size_t len = strlen(cur), i = len;

	while (i > 0 && cur[i - 1] >= '0' && cur[i - 1] <= '9')
		i--;
	if (i == len || len >= size - 1)
		return -1;
	memcpy(out, cur, len + 1);
	for (size_t j = len; j-- > i;) {
		if (out[j] != '9') {
			out[j]++;
			return 0;
		}
		out[j] = '0';
	}
	/* all nines: one digit more ("s9" -> "s10") */
	memmove(out + i + 1, out + i, len - i + 1);
	out[i] = '1';
	return 0;
}

/* keygen_next_current - the current key: type and size for the next one */
static int
keygen_next_current(struct keygen_opts *o)
{
	struct dkim_table_key_opts lax = { .allow_insecure = true };
	char err[DKIM_TABLE_ERR_MAX];
	enum dkim_alg alg = DKIM_ALG_RSA_SHA256;
	EVP_PKEY *k;

	k = dkim_table_key_load_file(o->cur_path, false, &alg, &lax, err, sizeof(err));
	if (k == NULL) {
		fprintf(stderr, "reinject keygen: the current key: %s (name it with "
		    "-k)\n", err);
		return REINJECT_TOOL_NOINPUT;
	}
	if (o->type_given && o->alg != alg) {
		EVP_PKEY_free(k);
		return keygen_usage("--next makes a key of the current key's type");
	}
	o->alg = alg;
	if (alg == DKIM_ALG_RSA_SHA256 && o->bits == 0)
		o->bits = (unsigned)EVP_PKEY_get_bits(k);
	EVP_PKEY_free(k);
	return 0;
}

/* keygen_plan_pending - a plan beside the current key already (said why) */
static bool
keygen_plan_pending(const char *cur_path)
{
	char plan[KEYGEN_PATH_MAX + 8];
	struct stat st;

	snprintf(plan, sizeof(plan), "%s.next", cur_path);
	if (lstat(plan, &st) < 0)
		return false;
	fprintf(stderr, "reinject keygen: %s: a rollover is already planned (use "
	    "-f to replace it)\n", plan);
	return true;
}

/* keygen_next_prepare - --next: current key, next selector, where to write */
static int
keygen_next_prepare(struct keygen_opts *o)
{
	const char *cur = o->current;
	int rc;

	if (cur == NULL) {
		if (snprintf(o->cur_path, sizeof(o->cur_path), "%s/%s.private", o->dir,
		    o->selector) >= (int)sizeof(o->cur_path))
			return keygen_usage("directory name too long");
	} else if (snprintf(o->cur_path, sizeof(o->cur_path), "%s", cur) >=
	    (int)sizeof(o->cur_path))
		return keygen_usage("-k: path too long");
	if (cur != NULL && !o->dir_given) {
		/* beside the current key: dirname may change its argument */
		snprintf(o->dir_buf, sizeof(o->dir_buf), "%s", cur);
		o->dir = dirname(o->dir_buf);
	}
	if ((rc = keygen_next_current(o)) != 0)
		return rc;
	if (!o->force && keygen_plan_pending(o->cur_path))
		return REINJECT_TOOL_ERROR;
	o->cur_selector = o->selector;
	if (o->next_selector_opt != NULL)
		snprintf(o->next_name, sizeof(o->next_name), "%s", o->next_selector_opt);
	else if (keygen_next_name(o->selector, o->next_name, sizeof(o->next_name)) < 0)
		return keygen_usage("the selector ends in no number: name the next "
		    "one with -n");
	if (!keygen_name_ok(o->next_name) || strcasecmp(o->next_name, o->selector) == 0)
		return keygen_usage("-n: a selector other than the current one");
	o->selector = o->next_name;
	return 0;
}

static const struct option keygen_longopts[] = {
	{ "next", no_argument, NULL, 'N' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* keygen_parse - the command line into opts; 0, or the exit status after
 * saying why */
static int
keygen_parse(int argc, char **argv, struct keygen_opts *o)
{
	char *end;
	int c;

	*o = (struct keygen_opts){ .alg = DKIM_ALG_RSA_SHA256, .dir = "." };
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:b:d:s:D:n:k:fyh", keygen_longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'N': o->next = true; break;
		case 'n': o->next_selector_opt = optarg; break;
		case 'k': o->current = optarg; break;
		case 't':
			o->type_given = true;
			if (strcmp(optarg, "rsa") == 0)
				o->alg = DKIM_ALG_RSA_SHA256;
			else if (strcmp(optarg, "ed25519") == 0)
				o->alg = DKIM_ALG_ED25519_SHA256;
			else
				return keygen_usage("-t takes rsa or ed25519");
			break;
		case 'b':
			errno = 0;
			o->bits = (unsigned)strtoul(optarg, &end, 10);
			if (errno || *end != '\0' || o->bits < DKIM_TABLE_RSA_MIN_BITS ||
			    o->bits > DKIM_TABLE_RSA_MAX_BITS)
				return keygen_usage("-b takes 1024 to 4096 (RFC 8301)");
			break;
		case 'd': o->domain = optarg; break;
		case 's': o->selector = optarg; break;
		case 'D': o->dir = optarg; o->dir_given = true; break;
		case 'f': o->force = true; break;
		case 'y': o->testing = true; break;
		default: return keygen_usage(NULL);
		}
	}
	if (optind != argc)
		return keygen_usage("unexpected arguments");
	if (o->domain == NULL || o->selector == NULL)
		return keygen_usage("-d domain and -s selector are required");
	if (!keygen_name_ok(o->domain) || !keygen_name_ok(o->selector))
		return keygen_usage("domain and selector take letters, digits, "
		    "'-', '_' and dots");
	if ((o->next_selector_opt || o->current) && !o->next)
		return keygen_usage("-n and -k go with --next");
	if (o->next && (c = keygen_next_prepare(o)) != 0)
		return c;
	if (o->bits && o->alg == DKIM_ALG_ED25519_SHA256)
		return keygen_usage("-b applies to rsa keys only");
	if (o->bits == 0)
		o->bits = KEYGEN_RSA_DEFAULT_BITS;
	return 0;
}

/* keygen_make - a fresh key pair */
static EVP_PKEY *
keygen_make(const struct keygen_opts *o)
{
	if (o->alg == DKIM_ALG_ED25519_SHA256)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)o->bits);
}

/*
 * keygen_open - create a file with mode whatever the umask; -f replaces a
 * regular file only, never through a symbolic link (the tool runs as root)
 */
static FILE *
keygen_open(const char *path, bool force, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
	    (force ? O_TRUNC : O_EXCL), mode);
	struct stat st;
	FILE *f;

	if (fd < 0) {
		fprintf(stderr, "reinject keygen: %s: %s%s\n", path, strerror(errno),
		    errno == EEXIST ? " (use -f to replace it)" : errno == ELOOP ?
		    " (a symbolic link: not followed)" : "");
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "reinject keygen: %s: not a regular file\n", path);
		close(fd);
		return NULL;
	}
	if (fcntl(fd, F_SETFL, 0) < 0 || fchmod(fd, mode) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "reinject keygen: %s: %s\n", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

/* keygen_close - flush and report write errors */
static int
keygen_close(FILE *f, const char *path)
{
	if (ferror(f) | (fclose(f) != 0)) {
		fprintf(stderr, "reinject keygen: %s: write error\n", path);
		return -1;
	}
	return 0;
}

/* reinject_keygen_zone_line - write "name IN TXT ( "..." "..." )" for value */
void
reinject_keygen_zone_line(FILE *f, const char *name, const char *value)
{
	size_t len = strlen(value);

	fprintf(f, "%s.\tIN\tTXT\t(", name);
	for (size_t off = 0; off < len; off += REINJECT_TXT_STRING_MAX) {
		size_t n = len - off < REINJECT_TXT_STRING_MAX ? len - off :
		    REINJECT_TXT_STRING_MAX;

		fprintf(f, " \"%.*s\"", (int)n, value + off);
	}
	fprintf(f, " )\n");
}

/* keygen_write_key - the private key, PKCS#8 PEM, 0600 */
static int
keygen_write_key(const char *path, EVP_PKEY *key, bool force)
{
	FILE *f = keygen_open(path, force, 0600);

	if (f == NULL)
		return -1;
	if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1)
		fprintf(stderr, "reinject keygen: %s: cannot encode the key\n", path);
	return keygen_close(f, path);
}

/* keygen_write_record - the zone fragment and the one-line value */
static int
keygen_write_record(const char *txt, const char *raw, const char *name,
    const char *value, const struct keygen_opts *o)
{
	FILE *f = keygen_open(txt, o->force, 0644);

	if (f == NULL)
		return -1;
	fprintf(f, "; DKIM key %s for %s (%s", o->selector, o->domain,
	    o->alg == DKIM_ALG_RSA_SHA256 ? "rsa" : "ed25519");
	if (o->alg == DKIM_ALG_RSA_SHA256)
		fprintf(f, " %u bits", o->bits);
	fprintf(f, "), made by reinject keygen.\n; Zone file line, the value split "
	    "into strings of at most %d characters:\n", REINJECT_TXT_STRING_MAX);
	reinject_keygen_zone_line(f, name, value);
	fprintf(f, "; The same value on one line (also in %s):\n; %s\n", raw, value);
	if (keygen_close(f, txt) < 0 || (f = keygen_open(raw, o->force, 0644)) == NULL)
		return -1;
	fprintf(f, "%s\n", value);
	return keygen_close(f, raw);
}

/* keygen_path - dir/selector.ext into out */
static int
keygen_path(char *out, size_t n, const struct keygen_opts *o, const char *ext)
{
	int r = snprintf(out, n, "%s/%s.%s", o->dir, o->selector, ext);

	if (r < 0 || (size_t)r >= n) {
		fprintf(stderr, "reinject keygen: directory name too long\n");
		return -1;
	}
	return 0;
}

/* keygen_value - "v=DKIM1; k=...; p=..." (RFC 6376 §3.6.1) */
static char *
keygen_value(EVP_PKEY *key, const struct keygen_opts *o)
{
	struct buf v;

	buf_init(&v, DKIM_KEY_RECORD_MAX);
	buf_printf(&v, "v=DKIM1; k=%s;%s p=", o->alg == DKIM_ALG_RSA_SHA256 ?
	    "rsa" : "ed25519", o->testing ? " t=y;" : "");
	if (dkim_key_public_b64(key, &v) < 0) {
		buf_clear(&v);
		return NULL;
	}
	return buf_steal(&v);
}

/*
 * keygen_write_plan - "<current keyfile>.next" (reinject_rollover.h), written
 * last: reinject never sees a plan whose key is not there yet
 */
static int
keygen_write_plan(const struct keygen_opts *o, const char *kpath, char *plan,
    size_t size)
{
	char dir[PATH_MAX];
	FILE *f;

	if (realpath(o->dir, dir) == NULL) {
		fprintf(stderr, "reinject keygen: %s: %s\n", o->dir, strerror(errno));
		return -1;
	}
	if (snprintf(plan, size, "%s.next", o->cur_path) >= (int)size) {
		fprintf(stderr, "reinject keygen: %s: name too long\n", o->cur_path);
		return -1;
	}
	if ((f = keygen_open(plan, o->force, 0644)) == NULL)
		return -1;
	fprintf(f, "# reinject keygen --next: the key that follows %s._domainkey.%s\n"
	    "# reinject signs with it once its record is published "
	    "(reinject-keygen(8)).\nnext_selector = %s\nnext_key_file = %s/%s\n",
	    o->cur_selector, o->domain, o->selector, dir, strrchr(kpath, '/') + 1);
	return keygen_close(f, plan);
}

/* keygen_next_says - what to do after --next */
static void
keygen_next_says(const struct keygen_opts *o, const char *plan)
{
	printf("\nrollover plan: %s\nPublish the record above beside %s._domainkey.%s "
	    "(keep that one).\nreinject keeps signing with s=%s until it sees the "
	    "new record match the\nnew key (looked up every "
	    "dkim_rollover_check_interval), then signs with s=%s\nand logs "
	    "\"dkim rollover: d=%s: switched\".\n", plan, o->cur_selector,
	    o->domain, o->cur_selector, o->selector, o->domain);
}

/* reinject_keygen_main - the "keygen" subcommand */
int
reinject_keygen_main(int argc, char **argv)
{
	char kpath[KEYGEN_PATH_MAX], tpath[KEYGEN_PATH_MAX], vpath[KEYGEN_PATH_MAX];
	char ppath[KEYGEN_PATH_MAX + 8];
	char name[2 * DKIM_TABLE_DOMAIN_MAX + 16];
	struct keygen_opts o;
	EVP_PKEY *key;
	char *value = NULL;
	int rc = REINJECT_TOOL_ERROR;

	if ((rc = cli_std(argc, argv, "reinject keygen", KEYGEN_USAGE)) >= 0)
		return rc;
	rc = REINJECT_TOOL_ERROR;
	if ((rc = keygen_parse(argc, argv, &o)) != 0)
		return rc;
	rc = REINJECT_TOOL_ERROR;
	if (keygen_path(kpath, sizeof(kpath), &o, "private") < 0 ||
	    keygen_path(tpath, sizeof(tpath), &o, "txt") < 0 ||
	    keygen_path(vpath, sizeof(vpath), &o, "value") < 0)
		return REINJECT_TOOL_ERROR;
	snprintf(name, sizeof(name), "%s._domainkey.%s", o.selector, o.domain);
	if ((key = keygen_make(&o)) == NULL) {
		fprintf(stderr, "reinject keygen: key generation failed\n");
		return REINJECT_TOOL_SOFTWARE;
	}
	if ((value = keygen_value(key, &o)) != NULL &&
	    keygen_write_key(kpath, key, o.force) == 0 &&
	    keygen_write_record(tpath, vpath, name, value, &o) == 0) {
		printf("private key: %s (mode 0600; give it to the user reinject "
		    "runs as)\nDNS record:  %s (zone file line), %s (one line)\n\n",
		    kpath, tpath, vpath);
		reinject_keygen_zone_line(stdout, name, value);
		rc = REINJECT_TOOL_OK;
		if (o.next && keygen_write_plan(&o, kpath, ppath, sizeof(ppath)) < 0)
			rc = REINJECT_TOOL_ERROR;
		else if (o.next)
			keygen_next_says(&o, ppath);
	}
	free(value);
	EVP_PKEY_free(key);
	return rc;
}
