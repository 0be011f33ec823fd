/* SPDX-License-Identifier: MIT */
/*
 * A session's attach point, the supervisor's side.  mosh-client runs on a pseudo-terminal
 * the supervisor owns, so the session outlives any terminal; the user's terminal is an
 * attached client (src/session/attachclient.c) that talks to this over a unix socket
 * (messages in attachproto.h).  One terminal at a time: a new one takes the session over
 * and the old one is told why.  With none attached, mosh-client's output is read and
 * dropped (its screen lives in mosh-client and is drawn again on the next attach).
 *
 * The socket is $XDG_RUNTIME_DIR/moshman/session-ID-PID.sock (PID: the supervisor's, so
 * two databases' session 1 never share a name), else under /tmp/moshman-UID/; the
 * directory is created 0700 and refused when it is not the user's own or others may
 * enter it, and a connecting peer whose uid is not ours (SO_PEERCRED) is dropped.
 */
#ifndef MOSHMAN_ATTACH_H
#define MOSHMAN_ATTACH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ev_loop;
struct attach;

/* A terminal came or went: attached != 0 with what happened ("attached", ...), or 0
 * with why it left ("detached (Ctrl-^ d)", "the terminal went away", ...). */
typedef void (*attach_changed_cb)(void *arg, int attached, const char *why);

/* The socket's directory, created if missing.  0, or -1 with why in err. */
int attach_dir(char *buf, size_t len, char *err, size_t errlen);
/* The socket of session id run by supervisor pid (the directory is checked as
 * attach_dir does). */
int attach_socket_path(int64_t id, int64_t supervisor_pid, char *buf, size_t len, char *err,
    size_t errlen);

/* Opens the pseudo-terminal (sized like the terminal on size_fd, else 24x80) and the
 * listening socket.  NULL with why in err. */
struct attach *attach_new(struct ev_loop *, int64_t session_id, const char *host, int size_fd,
    attach_changed_cb, void *arg, char *err, size_t errlen);
/* In the forked child (mosh-client), before exec: a session of its own with the pty's
 * terminal side as its controlling terminal and stdin, stdout and stderr.  -1 and errno.
 * The supervisor's copy of that side is closed by attach_start(). */
int attach_child_setup(const struct attach *);
/* mosh-client runs as pid; starts serving the socket.  first_fd >= 0 is a terminal
 * already connected (the one `moshman connect` runs in); it is ours from now on.  With
 * detached, first_fd is only told the session is up (WELCOME) and closed. */
void attach_start(struct attach *, pid_t client, int first_fd, int detached);
/* mosh-client stopped itself (Ctrl-^ Ctrl-Z, mosh's suspend): the attached terminal is
 * let go, as a suspended mosh gives the local shell back, and mosh-client is continued
 * to keep the session alive detached. */
void attach_client_stopped(struct attach *);
/* mosh-client ended: its last output and the status go to the attached terminal (which
 * then waits for the socket to close, when the supervisor is done). */
void attach_client_exited(struct attach *, int status);
/* The session's last word (why it ended) to the terminal still waiting after
 * attach_client_exited, with the final status.  1 if a terminal got it, else 0. */
int attach_say(struct attach *, int status, const char *line);
/* Closes the socket and removes it. */
void attach_free(struct attach *);

#endif
