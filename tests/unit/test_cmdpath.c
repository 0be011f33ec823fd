/* The command transport's template expansion (src/cmdpath.c). */
#include "tests/unit/unit.h"

#include "src/cmdpath.h"

static void
test_expand(void)
{
	struct cmdpath_vars v = { "example.org", 22, "alice", 60001, 41234 };
	char err[256], *out = NULL;

	CHECK_INT(cmdpath_expand("gost -L udp://127.0.0.1:{{local_port}}/127.0.0.1:"
	    "{{mosh_port}} -F relay://{{host}}:1081", &v, &out, err, sizeof err), 0);
	CHECK_STR(out, "gost -L udp://127.0.0.1:'41234'/127.0.0.1:'60001' -F "
	    "relay://'example.org':1081");
	free(out);
	CHECK_INT(cmdpath_expand("x {{user}}@{{host}} -p {{port}}", &v, &out, err,
	    sizeof err), 0);
	CHECK_STR(out, "x 'alice'@'example.org' -p '22'");
	free(out);
	CHECK_INT(cmdpath_expand("no placeholders", &v, &out, err, sizeof err), 0);
	CHECK_STR(out, "no placeholders");
	free(out);
}

static void
test_quoting(void)
{
	struct cmdpath_vars v = { "h'; rm -rf / #", 22, "$(id)", 1, 2 };
	char err[256], *out = NULL;

	/* Values can never break out of their quotes. */
	CHECK_INT(cmdpath_expand("c {{host}} {{user}}", &v, &out, err, sizeof err), 0);
	CHECK_STR(out, "c 'h'\\''; rm -rf / #' '$(id)'");
	free(out);
	v.user = NULL;
	CHECK_INT(cmdpath_expand("c {{user}}", &v, &out, err, sizeof err), 0);
	CHECK_STR(out, "c ''");
	free(out);
}

static void
test_errors(void)
{
	struct cmdpath_vars v = { "h", 22, "u", 1, 2 };
	char err[256], *out = NULL;

	CHECK_INT(cmdpath_expand("c {{hostname}}", &v, &out, err, sizeof err), -1);
	CHECK_HAS(err, "unknown placeholder '{{hostname}}'");
	CHECK(out == NULL);
	CHECK_INT(cmdpath_expand("c {{host", &v, &out, err, sizeof err), -1);
	CHECK_HAS(err, "unterminated");
	CHECK_INT(cmdpath_expand("c {{}}", &v, &out, err, sizeof err), -1);
}

int
main(void)
{
	UNIT_BEGIN("test_cmdpath");
	RUN(test_expand);
	RUN(test_quoting);
	RUN(test_errors);
	UNIT_END();
}
