/*
 * fuzz_dkim_table - libFuzzer target for the OpenDKIM data sets reinject
 * reads (common/dkim/dkim_table*.c, opendkim(8) "DATA SETS"): KeyTable,
 * SigningTable (file: and refile:) and host lists (file: and csl:).
 *
 * Input: one selector byte (bit 0: refile: SigningTable, bit 1:
 * MultipleSignatures, bit 2: the host list inline as csl:), then
 * NUL-separated sections: KeyTable text, SigningTable text, host list text,
 * and addresses to look up (one per line).  Two real keys exist in the
 * working directory: ./rsa.key (RSA 1024) and ./ed.key (Ed25519).
 *
 * Invariant: a table that loads answers every lookup with at most
 * DKIM_TABLE_SIGNERS_MAX signers whose key name and selector are in the
 * KeyTable input, whose domain is in it or is the address's domain (for
 * "%"), each with a key; a table that does not load says why in a message
 * "file:line: ..." naming one of its files and a line of it.  A host list that
 * loads matches every address listed in it (when nothing is negated or
 * commented out); one
 * that does not names its file (or "(inline list)") and a line (item).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim_table.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SECTIONS	4
#define FUZZ_LOOKUPS	16

static char fuzz_dir[64];
static int fuzz_home = -1;	/* the directory libFuzzer was started in */

/* fuzz_write_key - a fresh key of the type, PEM, mode 0600 */
static void
fuzz_write_key(const char *path, const char *type, size_t bits)
{
	EVP_PKEY *k = bits ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits) :
	    EVP_PKEY_Q_keygen(NULL, NULL, type);
	FILE *f;

	if (k == NULL || (f = fopen(path, "w")) == NULL)
		abort();
	fchmod(fileno(f), 0600);
	if (!PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL))
		abort();
	fclose(f);
	EVP_PKEY_free(k);
}

/* fuzz_cleanup - remove the private directory at exit */
static void
fuzz_cleanup(void)
{
	static const char *const files[] = { "rsa.key", "ed.key", "keytable",
	    "signingtable", "hosts" };
	int dir = open(fuzz_dir, O_RDONLY | O_DIRECTORY);

	for (size_t i = 0; dir >= 0 && i < sizeof(files) / sizeof(files[0]); i++)
		unlinkat(dir, files[i], 0);
	if (dir >= 0)
		close(dir);
	rmdir(fuzz_dir);
}

/*
 * LLVMFuzzerInitialize - a private directory with the two keys.  Each input
 * is run inside it (relative key paths), libFuzzer's own files outside.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/fuzz_dkim_table.XXXXXX");
	if ((fuzz_home = open(".", O_RDONLY | O_DIRECTORY)) < 0 ||
	    mkdtemp(fuzz_dir) == NULL || chdir(fuzz_dir) < 0)
		abort();
	fuzz_write_key("rsa.key", "RSA", 1024);
	fuzz_write_key("ed.key", "ED25519", 0);
	atexit(fuzz_cleanup);
	if (fchdir(fuzz_home) < 0)
		abort();
	return 0;
}

/* fuzz_write - text into path (mode 0600) */
static void
fuzz_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

/* fuzz_sections - split (p, len) at NUL bytes */
static void
fuzz_sections(char *p, size_t len, const char *s[FUZZ_SECTIONS])
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i < FUZZ_SECTIONS; i++)
		s[i] = "";
	for (size_t i = 0; i <= len && n < FUZZ_SECTIONS; i++) {
		if (i < len && p[i] != '\0')
			continue;
		s[n++] = p + start;
		start = i + 1;
	}
}

/* fuzz_lines - physical lines of text */
static unsigned long
fuzz_lines(const char *text)
{
	unsigned long n = 1;

	for (; *text; text++)
		n += *text == '\n' || *text == ',';	/* an inline list counts items */
	return n;
}

/* fuzz_err_located - err is "<file>:N: ..." for one of files, N a line of it */
static bool
fuzz_err_located(const char *err, const char *const *files, const char *const *texts,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t fl = strlen(files[i]);
		char *end;
		unsigned long line;

		if (strncmp(err, files[i], fl) != 0 || err[fl] != ':')
			continue;
		line = strtoul(err + fl + 1, &end, 10);
		if (end > err + fl + 1 && end[0] == ':' && end[1] == ' ' && line >= 1 &&
		    line <= fuzz_lines(texts[i]))
			return true;
	}
	return false;
}

/* fuzz_signer_ok - a signer whose parts came from the KeyTable or the address */
static bool
fuzz_signer_ok(const struct dkim_signer *s, const char *keytable, const char *addr)
{
	const char *at = strrchr(addr, '@');

	if (s->key == NULL || s->keyname == NULL || s->selector == NULL ||
	    strstr(keytable, s->keyname) == NULL || strstr(keytable, s->selector) == NULL)
		return false;
	return strcasestr(keytable, s->domain) != NULL ||
	    (at != NULL && strcasecmp(at + 1, s->domain) == 0);
}

/* fuzz_table - load the KeyTable and SigningTable, look the addresses up */
static void
fuzz_table(uint8_t sel, const char *const sec[FUZZ_SECTIONS])
{
	static const char *const files[] = { "keytable", "signingtable" };
	struct dkim_table_config cfg = { .key_table = "file:keytable",
	    .signing_table = (sel & 1) ? "refile:signingtable" : "file:signingtable",
	    .multiple_signatures = (sel & 2) != 0 };
	char err[DKIM_TABLE_ERR_MAX], *addrs, *line, *save = NULL;
	struct dkim_table *t;
	int n = 0;

	fuzz_write("keytable", sec[0]);
	fuzz_write("signingtable", sec[1]);
	err[0] = '\0';
	t = dkim_table_load(&cfg, err, sizeof(err));
	if (t == NULL) {
		if (!fuzz_err_located(err, files, sec, 2))
			abort();
		return;
	}
	addrs = strdup(sec[3]);
	for (line = strtok_r(addrs, "\n", &save); line && n < FUZZ_LOOKUPS;
	    line = strtok_r(NULL, "\n", &save), n++) {
		struct dkim_signers out;

		memset(&out, 0, sizeof(out));
		err[0] = '\0';
		if (dkim_table_lookup(t, span_from_cstr(line), &out, err, sizeof(err)) < 0) {
			if (err[0] == '\0')
				abort();
			continue;
		}
		if (out.n > DKIM_TABLE_SIGNERS_MAX)
			abort();
		for (size_t i = 0; i < out.n; i++)
			if (!fuzz_signer_ok(&out.v[i], sec[0], line))
				abort();
	}
	free(addrs);
	dkim_table_free(t);
}

/* fuzz_hosts - load the host list; every listed address matches */
static void
fuzz_hosts(uint8_t sel, const char *text)
{
	const char *files[] = { "hosts", "(inline list)" };
	const char *texts[] = { text, text };
	struct dkim_hostlist *l;
	char err[DKIM_TABLE_ERR_MAX], *copy, *item, *save = NULL;
	char *spec;

	if (sel & 4) {
		spec = malloc(strlen(text) + 5);
		memcpy(spec, "csl:", 4);
		memcpy(spec + 4, text, strlen(text) + 1);
	} else {
		fuzz_write("hosts", text);
		spec = strdup("file:hosts");
	}
	err[0] = '\0';
	l = dkim_table_host_load(spec, err, sizeof(err));
	free(spec);
	if (l == NULL) {
		if (!fuzz_err_located(err, files, texts, 2))
			abort();
		return;
	}
	copy = strdup(text);
	for (item = strtok_r(copy, ",\n \t", &save); item && !strpbrk(text, "!#");
	    item = strtok_r(NULL, ",\n \t", &save)) {
		unsigned char a[16];

		if ((inet_pton(AF_INET, item, a) == 1 || inet_pton(AF_INET6, item, a) == 1) &&
		    !dkim_table_host_match_text(l, NULL, item))
			abort();
	}
	free(copy);
	dkim_table_host_free(l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *sec[FUZZ_SECTIONS];
	char *p;

	if (size < 1)
		return 0;
	p = xmemdup0(data + 1, size - 1);
	fuzz_sections(p, size - 1, sec);
	if (chdir(fuzz_dir) < 0)
		abort();
	fuzz_table(data[0], sec);
	fuzz_hosts(data[0], sec[2]);
	if (fchdir(fuzz_home) < 0)
		abort();
	free(p);
	return 0;
}
