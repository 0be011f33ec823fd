/* SPDX-License-Identifier: MIT */
/* shquote: exact quoting, and a real /bin/sh that must give back every word unchanged
 * and run nothing hidden in one. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/util/shquote.h"
#include "src/util/xmalloc.h"
#include "tests/unit/unit.h"

static char tmpdir[] = "/tmp/moshman-shquote.XXXXXX";
static char canary[256];

/* Run SHELL... -c script (shell: argv up to "-c", NULL-terminated) and collect its
 * stdout (up to size-1 bytes); returns the exit status. */
static int
run_in(const char *const *shell, const char *script, char *out, size_t size, size_t *outlen)
{
	int fds[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(fds) == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (chdir(tmpdir) == -1)
			_exit(120);
		{
			char *argv[8];
			int i = 0;

			/* The child's own copies: execvp wants char *const[]. */
			while (shell[i] != NULL && i < 5) {
				argv[i] = strdup(shell[i]);
				i++;
			}
			argv[i++] = strdup("-c");
			argv[i++] = strdup(script);
			argv[i] = NULL;
			execvp(argv[0], argv);
		}
		_exit(121);
	}
	close(fds[1]);
	while (n + 1 < size && (r = read(fds[0], out + n, size - 1 - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	*outlen = n;
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run `sh -c script`. */
static int
run_sh(const char *script, char *out, size_t size, size_t *outlen)
{
	static const char *const sh[] = { "/bin/sh", NULL };

	return run_in(sh, script, out, size, outlen);
}

/* The shell must print the word back byte for byte, and must not create the canary. */
static void
roundtrip(const char *word)
{
	char *q = NULL, *script = NULL, out[4096];
	size_t outlen = 0, len;

	unlink(canary);
	q = shquote(word);
	len = strlen(q) + 64;
	script = malloc(len);
	snprintf(script, len, "printf '%%s' %s", q);
	CHECK_INT(run_sh(script, out, sizeof out, &outlen), 0);
	CHECK_INT(outlen, strlen(word));
	CHECK(memcmp(out, word, strlen(word)) == 0);
	CHECK(access(canary, F_OK) == -1);
	free(script);
	free(q);
}

static void
test_exact(void)
{
	char *q;

	q = shquote("");
	CHECK_STR(q, "''");
	free(q);
	q = shquote("abc");
	CHECK_STR(q, "'abc'");
	free(q);
	q = shquote("it's");
	CHECK_STR(q, "'it'\\''s'");
	free(q);
	q = shquote("'");
	CHECK_STR(q, "''\\'''");
	free(q);
	q = shquote("$(id) `id` \\ \"");
	CHECK_STR(q, "'$(id) `id` \\ \"'");
	free(q);
}

static void
test_injection_sh(void)
{
	char word[300];

	snprintf(word, sizeof word, "'; touch %s; '", canary);
	roundtrip(word);
	snprintf(word, sizeof word, "C.UTF-8'; touch %s; '", canary);
	roundtrip(word);
	snprintf(word, sizeof word, "$(touch %s)", canary);
	roundtrip(word);
	snprintf(word, sizeof word, "`touch %s`", canary);
	roundtrip(word);
	snprintf(word, sizeof word, "x\ntouch %s\n", canary);
	roundtrip(word);
	snprintf(word, sizeof word, "\\'; touch %s #", canary);
	roundtrip(word);
	snprintf(word, sizeof word, "\"; touch %s; \"", canary);
	roundtrip(word);
	snprintf(word, sizeof word, "a & touch %s | cat > /dev/null ; ${HOME} *", canary);
	roundtrip(word);
}

static void
test_odd_bytes_sh(void)
{
	char all[256];
	int i;

	roundtrip("");
	roundtrip("   leading and trailing   ");
	roundtrip("\xff\xfe\x80 not utf-8 \xc3\x28");
	roundtrip("tab\there, cr\rthere, esc\x1b[31m");
	roundtrip("*");
	roundtrip("~");
	roundtrip("-n");
	roundtrip("''''");
	/* every byte 1..255 in one word */
	for (i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	roundtrip(all);
}

static void
test_argv_sh(void)
{
	char word[300], *line = NULL, *script = NULL, out[4096];
	const char *argv[6];
	size_t outlen = 0, len;

	snprintf(word, sizeof word, "'; touch %s; '", canary);
	argv[0] = "printf";
	argv[1] = "[%s]";
	argv[2] = "";
	argv[3] = word;
	argv[4] = "a b";
	argv[5] = NULL;
	line = shquote_argv(-1, argv);
	unlink(canary);
	CHECK_INT(run_sh(line, out, sizeof out, &outlen), 0);
	len = strlen(word) + 32;
	script = malloc(len);
	snprintf(script, len, "[][%s][a b]", word);
	CHECK_STR(out, script);
	CHECK(access(canary, F_OK) == -1);
	free(line);

	/* argc counts, a NULL is not needed */
	line = shquote_argv(2, argv);
	CHECK_STR(line, "'printf' '[%s]'");
	free(line);
	line = shquote_argv(0, argv);
	CHECK_STR(line, "");
	free(line);
	free(script);
}

static void
test_env_argv(void)
{
	char word[300], *line = NULL, out[4096];
	const char *argv[8];
	size_t outlen = 0;

	snprintf(word, sizeof word, "C.UTF-8'; touch %s; '", canary);
	argv[0] = "MOSH_SERVER_NETWORK_TMOUT=600";
	argv[1] = "_X1=a b";
	argv[2] = "sh";
	argv[3] = "-c";
	argv[4] = "printf '%s|%s|%s' \"$MOSH_SERVER_NETWORK_TMOUT\" \"$_X1\" \"$1\"";
	argv[5] = "sh";
	argv[6] = word;
	argv[7] = NULL;
	line = shquote_env_argv(-1, argv);
	CHECK(strncmp(line, "env MOSH_SERVER_NETWORK_TMOUT='600' _X1='a b' 'sh' '-c' ", 55) == 0);
	unlink(canary);
	CHECK_INT(run_sh(line, out, sizeof out, &outlen), 0);
	CHECK(strncmp(out, "600|a b|C.UTF-8'; touch ", 24) == 0);
	CHECK(access(canary, F_OK) == -1);
	free(line);

	/* Not names: quoted whole, and assignments stop at the first command word. */
	argv[0] = "1A=x";
	argv[1] = "A-B=y";
	argv[2] = "cmd";
	argv[3] = "B=z";
	argv[4] = NULL;
	line = shquote_env_argv(-1, argv);
	CHECK_STR(line, "'1A=x' 'A-B=y' 'cmd' 'B=z'");
	free(line);
	argv[0] = "A=$(x)'";
	argv[1] = NULL;
	line = shquote_env_argv(-1, argv);
	CHECK_STR(line, "A='$(x)'\\'''");
	free(line);
	/* A command word with '=' would be an assignment to env: the prefix form then. */
	argv[0] = "A=1";
	argv[1] = "/opt/a=b/mosh-server";
	argv[2] = NULL;
	line = shquote_env_argv(-1, argv);
	CHECK_STR(line, "A='1' '/opt/a=b/mosh-server'");
	free(line);
}

/* Is PROGRAM on PATH? */
static int
have(const char *program)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", program);
	return system(cmd) == 0;
}

/* shquote_script's line, read by each login shell an ssh server might run it under,
 * reaches sh intact: every byte 1..255, words with quotes and !, $0, and a script long
 * enough to be cut into several words. */
static void
test_script_shells(void)
{
	static const char *const shells[][3] = {
		{ "sh", NULL },
		{ "bash", NULL },
		{ "dash", NULL },
		{ "busybox", "sh", NULL },
		{ "tcsh", NULL },
		{ "csh", NULL },
		{ "fish", NULL },
	};
	const char *words[] = { "a b", "c'd", "!x", "$HOME", NULL };
	char *script, *qw, *line, *want, out[8192], bytes[256], pad[3001];
	size_t n = 0, outlen;
	int i, canary_made;

	for (i = 1; i < 256; i++)
		bytes[n++] = (char)i;
	bytes[n] = '\0';
	memset(pad, 'p', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	snprintf(canary, sizeof canary, "%s/canary-script", tmpdir);
	xasprintf(&script,
	    "# %s\nprintf '%%s|' \"$0\" \"$@\"\ncat <<'MOSHEOF'\n%s\nMOSHEOF\n"
	    ": '; touch %s; '\n",
	    pad, bytes, canary);
	xasprintf(&want, "moshman-t|a b|c'd|!x|$HOME|%s\n", bytes);
	qw = shquote_argv(-1, words);
	line = shquote_script("moshman-t", script, qw);
	/* Safe in any login shell: no quote inside the quoted runs, no newline, no !, no
	 * backslash but the escapes', no 8-bit byte, and runs of at most 1,000 bytes. */
	CHECK(strchr(line, '\n') == NULL && strchr(line, '!') == NULL);
	for (const unsigned char *p = (const unsigned char *)line; *p != '\0'; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
	CHECK(strstr(line, "' '") != NULL);
	for (i = 0; i < (int)(sizeof shells / sizeof shells[0]); i++) {
		if (!have(shells[i][0])) {
			printf("    %s is not installed (make deps-test installs it)\n",
			    shells[i][0]);
			unit_case_failed = 1;
			continue;
		}
		unlink(canary);
		memset(out, 0, sizeof out);
		CHECK_INT(run_in(shells[i], line, out, sizeof out, &outlen), 0);
		canary_made = access(canary, F_OK) == 0;
		if (outlen != strlen(want) || memcmp(out, want, outlen) != 0 || canary_made) {
			printf("    under %s: got %zu bytes, want %zu%s\n", shells[i][0], outlen,
			    strlen(want), canary_made ? "; the canary was made" : "");
			unit_case_failed = 1;
		}
	}
	/* A script made of bytes that all need escapes (each 5 bytes out) fits its buffer
	 * and still reaches sh intact. */
	free(line);
	{
		char *tabs = xmalloc(10001), *tscript, *twant;

		memset(tabs, '\t', 10000);
		tabs[10000] = '\0';
		xasprintf(&tscript, "cat <<'MOSHEOF'\n%s\nMOSHEOF\n", tabs);
		xasprintf(&twant, "%s\n", tabs);
		line = shquote_script("t", tscript, NULL);
		CHECK(strlen(line) > 50000);
		{
			char *big = xmalloc(20000);

			CHECK_INT(run_sh(line, big, 20000, &outlen), 0);
			CHECK(outlen == strlen(twant) && memcmp(big, twant, outlen) == 0);
			free(big);
		}
		free(tabs);
		free(tscript);
		free(twant);
	}
	/* No words: "$@" is empty (the script's own runs are not left in it). */
	free(line);
	line = shquote_script("n", "echo \"$#\"", NULL);
	CHECK_INT(run_sh(line, out, sizeof out, &outlen), 0);
	CHECK_STR(out, "0\n");
	free(line);
	free(qw);
	free(want);
	free(script);
}

int
main(void)
{
	UNIT_BEGIN("test_shquote");
	if (mkdtemp(tmpdir) == NULL) {
		printf("not ok - test_shquote: mkdtemp\n");
		return 1;
	}
	snprintf(canary, sizeof canary, "%s/canary", tmpdir);
	RUN(test_exact);
	RUN(test_injection_sh);
	RUN(test_odd_bytes_sh);
	RUN(test_argv_sh);
	RUN(test_env_argv);
	RUN(test_script_shells);
	unlink(canary);
	rmdir(tmpdir);
	UNIT_END();
}
