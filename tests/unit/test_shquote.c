/* shquote: exact quoting, and a real /bin/sh that must give back every word unchanged
 * and run nothing hidden in one. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/shquote.h"
#include "tests/unit/unit.h"

static char tmpdir[] = "/tmp/moshman-shquote.XXXXXX";
static char canary[256];

/* Run `sh -c script` and collect its stdout (up to size-1 bytes); returns exit status. */
static int
run_sh(const char *script, char *out, size_t size, size_t *outlen)
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
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
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
	CHECK(strncmp(line, "MOSH_SERVER_NETWORK_TMOUT='600' _X1='a b' 'sh' '-c' ", 51) == 0);
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
	unlink(canary);
	rmdir(tmpdir);
	UNIT_END();
}
