/* SPDX-License-Identifier: MIT */
/*
 * The user's terminal attached to a session (the other end of src/session/attach.c):
 * raw mode, keyboard bytes to the supervisor through the detach-key filter (attachkey.h),
 * mosh-client's output to the screen, window sizes on SIGWINCH, the terminal restored on
 * the way out.  `moshman connect` and `moshman attach` both end up here.
 */
#ifndef MOSHMAN_ATTACHCLIENT_H
#define MOSHMAN_ATTACHCLIENT_H

#include <stdint.h>

#include "src/session/attachproto.h"

enum attachclient_end {
	ATTACHCLIENT_DETACHED,   /* the detach key */
	ATTACHCLIENT_TAKEN_OVER, /* another terminal attached */
	ATTACHCLIENT_EXITED,     /* mosh-client ended: the session is over */
	ATTACHCLIENT_HUNGUP,     /* this terminal went away (SIGHUP) or SIGTERM */
	ATTACHCLIENT_LOST,       /* the supervisor went away without a word */
};

struct attachclient {
	unsigned char detach_key;
	int fd; /* the connection to the supervisor */
	/* filled in as it runs */
	int64_t session_id;
	char host[ATTACHPROTO_TEXT_MAX + 1];
	enum attachclient_end end;
	int status;                          /* EXITED: mosh-client's exit status */
	char text[ATTACHPROTO_TEXT_MAX + 1]; /* what the supervisor said last */
	/* bytes read but not yet handled: what came with the WELCOME belongs to the run */
	uint8_t in[2 * ATTACHPROTO_MSG_MAX];
	size_t inlen;
};

/* The detach key from $MOSHMAN_DETACH_KEY (default d).  0, or -1 with why in err. */
int attachclient_detach_key(unsigned char *key, char *err, size_t errlen);
/* Connects to the socket of session id, run by supervisor pid.  The fd, or -1 with why
 * in err. */
int attachclient_connect(int64_t id, int64_t supervisor_pid, char *err, size_t errlen);
/* Sends HELLO with this terminal's size and waits for the supervisor's WELCOME, in
 * cooked mode (a supervisor still connecting may be asking for a password).  0; or -1
 * with why in err and c->end LOST (the supervisor closed without answering). */
int attachclient_hello(struct attachclient *c, char *err, size_t errlen);
/* Runs the attached terminal until it detaches, is taken over, the session ends or the
 * terminal goes away.  Returns c->end. */
enum attachclient_end attachclient_run(struct attachclient *c);
/* One line on stderr saying how it ended (none when the session ended or the terminal
 * is gone); returns the exit status for the command: mosh-client's when it ended, 1
 * when the supervisor was lost, else 0. */
int attachclient_report(const struct attachclient *c);

#endif
