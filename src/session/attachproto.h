/* SPDX-License-Identifier: MIT */
/*
 * The attach socket's messages, between a session's supervisor and the terminal attached
 * to it (docs/design.md, "Attaching").  Every message is a 3-byte header, type and a
 * big-endian 16-bit payload length, then the payload:
 *
 *   terminal -> supervisor                supervisor -> terminal
 *   HELLO   version, rows, cols (5)       WELCOME  session id (8), then the host's name
 *   DATA    keyboard bytes (1..16384)     DATA     mosh-client's output (1..16384)
 *   RESIZE  rows, cols (4)                TAKEOVER why this terminal lost the session
 *   DETACH  (0): the user detached        EXIT     status (1), then how mosh-client ended
 *                                         DETACHED why the supervisor let this terminal go
 *
 * Rows and columns are 16-bit, 1..4096.  Text is printable ASCII (it reaches a terminal).
 * The parser takes the peer's bytes as hostile: an unknown type, a message the peer may
 * not send, a wrong length or bad text ends the connection.  Pure: no I/O.
 */
#ifndef MOSHMAN_ATTACHPROTO_H
#define MOSHMAN_ATTACHPROTO_H

#include <stddef.h>
#include <stdint.h>

#define ATTACHPROTO_VERSION 1
#define ATTACHPROTO_HEADER 3
#define ATTACHPROTO_DATA_MAX 16384
#define ATTACHPROTO_TEXT_MAX 200
#define ATTACHPROTO_DIM_MAX 4096
/* The largest message on the wire. */
#define ATTACHPROTO_MSG_MAX (ATTACHPROTO_HEADER + ATTACHPROTO_DATA_MAX)

enum attachproto_type {
	ATTACHPROTO_HELLO = 1,
	ATTACHPROTO_DATA,
	ATTACHPROTO_RESIZE,
	ATTACHPROTO_DETACH,
	ATTACHPROTO_WELCOME,
	ATTACHPROTO_TAKEOVER,
	ATTACHPROTO_EXIT,
	ATTACHPROTO_DETACHED,
};

/* Who sent the bytes being parsed. */
enum attachproto_peer {
	ATTACHPROTO_FROM_TERMINAL,
	ATTACHPROTO_FROM_SUPERVISOR,
};

struct attachproto_msg {
	enum attachproto_type type;
	const uint8_t *data; /* DATA: points into the parsed buffer */
	size_t len;
	int version;                         /* HELLO */
	int rows, cols;                      /* HELLO, RESIZE */
	int64_t session_id;                  /* WELCOME */
	int status;                          /* EXIT */
	char text[ATTACHPROTO_TEXT_MAX + 1]; /* WELCOME, TAKEOVER, EXIT, DETACHED */
};

/* Parses the message at the front of buf.  Returns the bytes it took (> 0) with *m
 * filled, 0 when buf holds only part of a message, -1 when the bytes are not a message
 * this peer may send (err says why; the connection should end). */
long attachproto_parse(enum attachproto_peer, const uint8_t *buf, size_t len,
    struct attachproto_msg *m, char *err, size_t errlen);

/* Encoders: each writes one message into out (cap bytes) and returns its length, or 0
 * when it does not fit or a value is out of range.  DATA takes 1..ATTACHPROTO_DATA_MAX
 * bytes (which may already sit at out + ATTACHPROTO_HEADER); text is cut at ATTACHPROTO_TEXT_MAX and unprintable bytes become '?'. */
size_t attachproto_hello(uint8_t *out, size_t cap, int rows, int cols);
size_t attachproto_data(uint8_t *out, size_t cap, const void *data, size_t len);
size_t attachproto_resize(uint8_t *out, size_t cap, int rows, int cols);
size_t attachproto_detach(uint8_t *out, size_t cap);
size_t attachproto_welcome(uint8_t *out, size_t cap, int64_t session_id, const char *host);
size_t attachproto_takeover(uint8_t *out, size_t cap, const char *why);
size_t attachproto_exit(uint8_t *out, size_t cap, int status, const char *why);
size_t attachproto_detached(uint8_t *out, size_t cap, const char *why);

#endif
