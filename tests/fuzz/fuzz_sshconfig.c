/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the ssh_config parser.  The input is split at "\n@@\n" into up to
 * eight files: the first is the top config, and an Include resolves to the others, so
 * nesting, loops and glob lists come from the fuzzer too:
 *   "...N"  (pattern ends in a digit)  file N      "*"  every file from 1 on, in order
 *   "ERR"   the resolver fails         "DIR" a directory    "BAD" an unreadable file
 *   "PERM"  a readable file with a permission complaint
 * The resolver answers at most 64 calls per input, so work stays bounded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/ssh/sshconfig.h"
#include "src/util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_CHUNKS 8
#define SEP "\n@@\n"

static const char *chunk[MAX_CHUNKS];
static size_t chunk_len[MAX_CHUNKS];
static size_t nchunks;
static int calls;

static void
file_set(struct sshconfig_file *f, size_t i, const char *tag)
{
	xasprintf(&f->path, "/home/f/.ssh/%s%zu", tag, i);
	/* Copies sized exactly, so ASan sees any read past a file's end. */
	f->text = xmalloc(chunk_len[i] ? chunk_len[i] : 1);
	memcpy(f->text, chunk[i], chunk_len[i]);
	f->len = chunk_len[i];
}

static int
fuzz_include(void *arg, const char *pattern, struct sshconfig_file **out, size_t *n, char **error)
{
	struct sshconfig_file *files;
	size_t len = strlen(pattern), k = 0;
	int last = len > 0 ? pattern[len - 1] : 0;

	(void)arg;
	*out = NULL;
	*n = 0;
	if (++calls > 64)
		return 0;
	if (strstr(pattern, "ERR") != NULL) {
		*error = xstrdup("glob failed");
		return -1;
	}
	files = xcalloc(MAX_CHUNKS + 1, sizeof *files);
	if (strstr(pattern, "DIR") != NULL) {
		files[k].path = xstrdup(pattern);
		files[k].error = xstrdup("a directory");
		files[k++].skip = 1;
	} else if (strstr(pattern, "BAD") != NULL) {
		files[k].path = xstrdup(pattern);
		files[k++].error = xstrdup("Permission denied");
	} else if (strchr(pattern, '*') != NULL) {
		for (size_t i = 1; i < nchunks; i++)
			file_set(&files[k++], i, "f");
	} else if (last >= '0' && last <= '9' && (size_t)(last - '0') < nchunks) {
		file_set(&files[k], (size_t)(last - '0'), "f");
		if (strstr(pattern, "PERM") != NULL)
			files[k].error = xstrdup("bad owner or permissions");
		k++;
	}
	*out = files;
	*n = k;
	return 0;
}

static const char *
fuzz_getenv(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "HOME") == 0 ? "/home/f" : NULL;
}

static void
check_text(const char *s)
{
	if (s == NULL)
		abort();
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort(); /* control bytes must never reach a message */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshconfig_env env = { "/home/f", NULL, fuzz_getenv, fuzz_include, NULL };
	const struct sshconfig_host *h;
	const struct sshconfig_skip *s;
	const struct sshconfig_msg *m;
	struct sshconfig *c;
	const char *p = (const char *)data, *end = p + size, *sep;
	char *top;
	size_t n, counted = 0;
	int rc;

	if (size > 16384)
		return 0;
	nchunks = 0;
	calls = 0;
	while (nchunks < MAX_CHUNKS) {
		sep = nchunks + 1 < MAX_CHUNKS ? memmem(p, (size_t)(end - p), SEP, 4) : NULL;
		chunk[nchunks] = p;
		chunk_len[nchunks] = sep != NULL ? (size_t)(sep - p) : (size_t)(end - p);
		nchunks++;
		if (sep == NULL)
			break;
		p = sep + 4;
	}
	if (size > 0 && (data[0] & 1))
		env.user = "fuzzer";

	top = xmalloc(chunk_len[0] ? chunk_len[0] : 1);
	memcpy(top, chunk[0], chunk_len[0]);
	c = sshconfig_new();
	rc = sshconfig_parse_buffer(c, top, chunk_len[0], "fuzz", &env);

	sshconfig_messages(c, &m, &n);
	for (size_t i = 0; i < n; i++) {
		check_text(m[i].text);
		check_text(m[i].file);
	}
	for (int l = SSHCONFIG_NOTE; l <= SSHCONFIG_ERROR; l++)
		counted += sshconfig_count(c, (enum sshconfig_level)l);
	if (counted != n || (rc == -1) != (sshconfig_count(c, SSHCONFIG_ERROR) > 0))
		abort();

	sshconfig_hosts(c, &h, &n);
	for (size_t i = 0; i < n; i++) {
		if (h[i].name[0] == '\0' || h[i].hostname == NULL || h[i].file == NULL)
			abort();
		if (h[i].port < 0 || h[i].port > 65535)
			abort();
		if (h[i].proxy_jump != NULL && h[i].proxy_command != NULL)
			abort(); /* ssh uses one or the other */
		/* Patterns and unusable names are skipped, not profiles ('!' negates only at
		 * the start of a pattern). */
		if (h[i].name[0] == '!' || strpbrk(h[i].name, "*?%@ \t") != NULL)
			abort();
		for (size_t k = 0; k < h[i].nnotes; k++)
			check_text(h[i].notes[k]);
		for (size_t k = 0; k < i && n <= 256; k++) {
			if (strcmp(h[k].name, h[i].name) == 0)
				abort(); /* one profile per alias */
		}
	}
	sshconfig_skipped(c, &s, &n);
	for (size_t i = 0; i < n; i++) {
		check_text(s[i].name);
		check_text(s[i].reason);
	}
	sshconfig_free(c);
	free(top);
	return 0;
}
