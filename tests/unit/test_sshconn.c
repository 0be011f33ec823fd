/* SPDX-License-Identifier: MIT */
#include "src/util/shquote.h"
#include "src/ssh/sshconn.h"
#include "src/ssh/resolve.h"
#include "tests/unit/unit.h"

static void
known_hosts_names(void)
{
	char *s;

	s = sshconn_known_hosts_name("example.org", 22);
	CHECK_STR(s, "example.org");
	free(s);
	s = sshconn_known_hosts_name("10.1.2.3", 2222);
	CHECK_STR(s, "[10.1.2.3]:2222");
	free(s);
}

static void
known_hosts_lines(void)
{
	const char *f = "# comment\n"
	                "other.org ssh-ed25519 AAAA\n"
	                "|1|abc=|def= ssh-ed25519 AAAA\n"
	                "@cert-authority [10.1.2.3]:2222 ssh-ed25519 AAAA\n"
	                "\n"
	                "foo,[10.1.2.3]:2222,bar ssh-ed25519 AAAA\n"
	                "[10.1.2.3]:2222 ssh-rsa AAAA\n";

	CHECK_INT(sshconn_known_hosts_line(f, strlen(f), "[10.1.2.3]:2222"), 6);
	CHECK_INT(sshconn_known_hosts_line(f, strlen(f), "OTHER.org"), 2);
	CHECK_INT(sshconn_known_hosts_line(f, strlen(f), "bar"), 6);
	/* A prefix of a pattern is not a match. */
	CHECK_INT(sshconn_known_hosts_line(f, strlen(f), "[10.1.2.3]:22"), 0);
	CHECK_INT(sshconn_known_hosts_line(f, strlen(f), "nowhere"), 0);
	CHECK_INT(sshconn_known_hosts_line("", 0, "x"), 0);
	/* No trailing newline. */
	CHECK_INT(sshconn_known_hosts_line("a k\nb k", 7, "b"), 2);
}

static void
jump_commands(void)
{
	char err[256], *cmd = NULL;

	CHECK_INT(sshconn_jump_command("alice@jump.example:2200", "10.0.0.2", 22, "/tmp/kh", NULL,
	              SSHCONN_STRICT, 0, &cmd, err, sizeof err),
	    0);
	CHECK_STR(cmd,
	    "'ssh' '-o' 'StrictHostKeyChecking=yes' '-o' "
	    "'UserKnownHostsFile=/tmp/kh' '-l' 'alice' '-p' '2200' '-W' '10.0.0.2:22' '--' "
	    "'jump.example'");
	free(cmd);
	CHECK_INT(sshconn_jump_command("[::1]:2200", "fe80::1", 2222, NULL, "/k/id",
	              SSHCONN_ACCEPT_NEW, 0, &cmd, err, sizeof err),
	    0);
	CHECK_HAS(cmd, "'-W' '[fe80::1]:2222' '--' '::1'");
	CHECK_HAS(cmd, "'-i' '/k/id'");
	CHECK_HAS(cmd, "accept-new");
	CHECK(strstr(cmd, "'-4'") == NULL && strstr(cmd, "'-6'") == NULL);
	free(cmd);
	/* --family inet6 / inet reach the jump's ssh as -6 / -4; prefer-* and auto cannot. */
	CHECK_INT(sshconn_jump_command("jump", "t", 22, NULL, NULL, SSHCONN_ASK, RESOLVE_INET6,
	              &cmd, err, sizeof err),
	    0);
	CHECK_HAS(cmd, "'ssh' '-6' '-o'");
	free(cmd);
	CHECK_INT(sshconn_jump_command("jump", "t", 22, NULL, NULL, SSHCONN_ASK, RESOLVE_INET, &cmd,
	              err, sizeof err),
	    0);
	CHECK_HAS(cmd, "'ssh' '-4' '-o'");
	free(cmd);
	CHECK_INT(sshconn_jump_command("jump", "t", 22, NULL, NULL, SSHCONN_ASK,
	              RESOLVE_PREFER_INET6, &cmd, err, sizeof err),
	    0);
	CHECK(strstr(cmd, "'-6'") == NULL);
	free(cmd);
	/* Injection attempts stay inside one quoted word or are refused. */
	CHECK_INT(sshconn_jump_command("bob@h;touch /tmp/x", "t", 22, NULL, NULL, SSHCONN_ASK, 0,
	              &cmd, err, sizeof err),
	    0);
	CHECK_HAS(cmd, "'--' 'h;touch /tmp/x'");
	free(cmd);
	CHECK_INT(sshconn_jump_command("-oProxyCommand=x", "t", 22, NULL, NULL, SSHCONN_ASK, 0,
	              &cmd, err, sizeof err),
	    -1);
	CHECK_HAS(err, "bad jump host");
	CHECK(cmd == NULL);
	CHECK_INT(sshconn_jump_command("h:99999", "t", 22, NULL, NULL, SSHCONN_ASK, 0, &cmd, err,
	              sizeof err),
	    -1);
	CHECK_INT(sshconn_jump_command("h:%p", "t", 22, NULL, NULL, SSHCONN_ASK, 0, &cmd, err,
	              sizeof err),
	    -1);
	CHECK_HAS(err, "'%'");
	CHECK_INT(sshconn_jump_command("@h", "t", 22, NULL, NULL, SSHCONN_ASK, 0, &cmd, err,
	              sizeof err),
	    -1);
}

/* Keyboard-interactive answers replay only for the same questions in the same order. */
/* Which answers may be given again on a reconnect: hidden ones, never a one-time code. */
static void
kbd_replayable(void)
{
	CHECK_INT(sshconn_kbd_replayable("Password: ", 0), 1);
	CHECK_INT(sshconn_kbd_replayable("(moshlab@host) Password: ", 0), 1);
	CHECK_INT(sshconn_kbd_replayable("Enter PIN for 'PIV Card': ", 0), 1);
	CHECK_INT(sshconn_kbd_replayable("", 0), 1);
	/* Visible answers (a user name, a menu choice) are not replayed. */
	CHECK_INT(sshconn_kbd_replayable("Password: ", 1), 0);
	CHECK_INT(sshconn_kbd_replayable("Username: ", 1), 0);
	/* One-time codes, whatever their spelling. */
	CHECK_INT(sshconn_kbd_replayable("Verification code: ", 0), 0);
	CHECK_INT(sshconn_kbd_replayable("One-time password (OATH) for `moshlab': ", 0), 0);
	CHECK_INT(sshconn_kbd_replayable("Enter TOKEN: ", 0), 0);
	CHECK_INT(sshconn_kbd_replayable("Passcode or option (1-3): ", 0), 0);
	CHECK_INT(sshconn_kbd_replayable("Duo two-factor login for moshlab", 0), 0);
	CHECK_INT(sshconn_kbd_replayable("YubiKey for `moshlab': ", 0), 0);
	CHECK_INT(sshconn_kbd_replayable("2FA: ", 0), 0);
}

static void
kbd_replay(void)
{
	struct sshconn_kbd k;
	int i;

	memset(&k, 0, sizeof k);
	CHECK(sshconn_kbd_replay(&k, 0, "Password: ") == NULL);
	CHECK_INT(sshconn_kbd_add(&k, "Password: ", "s3cret"), 0);
	CHECK_INT(sshconn_kbd_add(&k, "Verification code: ", "123456"), 0);
	CHECK_STR(sshconn_kbd_replay(&k, 0, "Password: "), "s3cret");
	CHECK_STR(sshconn_kbd_replay(&k, 1, "Verification code: "), "123456");
	/* Another prompt, another position, or more questions than before: no answer. */
	CHECK(sshconn_kbd_replay(&k, 0, "password: ") == NULL);
	CHECK(sshconn_kbd_replay(&k, 0, "Password:") == NULL);
	CHECK(sshconn_kbd_replay(&k, 1, "Password: ") == NULL);
	CHECK(sshconn_kbd_replay(&k, 2, "Password: ") == NULL);
	CHECK(sshconn_kbd_replay(&k, 0, "") == NULL);
	sshconn_kbd_clear(&k);
	CHECK_INT((int)k.n, 0);
	CHECK(sshconn_kbd_replay(&k, 0, "Password: ") == NULL);
	/* Bounded: a server asking without end does not grow it. */
	for (i = 0; i < SSHCONN_KBD_MAX; i++)
		CHECK_INT(sshconn_kbd_add(&k, "Q: ", "a"), 0);
	CHECK_INT(sshconn_kbd_add(&k, "Q: ", "a"), -1);
	CHECK_INT((int)k.n, SSHCONN_KBD_MAX);
	sshconn_kbd_clear(&k);
	sshconn_kbd_clear(&k);
}

int
main(void)
{
	UNIT_BEGIN("test_sshconn");
	RUN(known_hosts_names);
	RUN(known_hosts_lines);
	RUN(jump_commands);
	RUN(kbd_replay);
	RUN(kbd_replayable);
	UNIT_END();
}
