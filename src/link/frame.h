/* SPDX-License-Identifier: MIT */
/* The tunnel's framing: mosh's datagrams and a few control messages on a byte stream.
 * A pure codec (no I/O); docs/protocol.md is the specification. */
#ifndef MOSHMAN_FRAME_H
#define MOSHMAN_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Opens each direction of the stream.  0x8b is not text (so a motd cannot contain it) and
 * catches a 7-bit channel; "\r\n" catches a pty or anything else that rewrites line ends. */
#define FRAME_MAGIC "\x8bMOSHMAN\r\n"
#define FRAME_MAGIC_LEN 10
#define FRAME_HEADER_LEN 3    /* type (1 byte), payload length (2 bytes, big-endian) */
#define FRAME_DATA_MAX 2048   /* mosh's receive buffer: it rejects anything larger */
#define FRAME_TOKEN_LEN 8     /* PING / PONG */
#define FRAME_TEXT_MAX 200    /* CLOSE reason, NOTICE text */
#define FRAME_IMPL_MAX 64     /* HELLO: who is speaking, e.g. "moshman 0.1.0" */
#define FRAME_NOISE_MAX 65536 /* login-shell output tolerated before the relay's magic */
#define FRAME_VERSION_MIN 1
#define FRAME_VERSION_MAX 1
/* Room for the largest thing any encoder writes (a DATA frame; the HELLO with its magic is
 * smaller). */
#define FRAME_ENCODED_MAX (FRAME_HEADER_LEN + FRAME_DATA_MAX)

enum frame_type {
	FRAME_HELLO = 0x01,
	FRAME_DATA = 0x02,
	FRAME_PING = 0x03,
	FRAME_PONG = 0x04,
	FRAME_CLOSE = 0x05,
	FRAME_NOTICE = 0x06,
};

/* CLOSE status: why the sender is going away. */
enum frame_close_status {
	FRAME_CLOSE_OK = 0,       /* orderly: asked to, or stdin ended */
	FRAME_CLOSE_PROTOCOL = 1, /* the peer sent something malformed */
	FRAME_CLOSE_FAILURE = 2,  /* a local failure, e.g. the UDP socket */
	FRAME_CLOSE_VERSION = 3,  /* no common protocol version */
};

/* NOTICE code: something the supervisor may want to show; the tunnel goes on. */
enum frame_notice_code {
	FRAME_NOTICE_REFUSED = 1,  /* nothing listens on the UDP port (ICMP refused) */
	FRAME_NOTICE_OVERSIZE = 2, /* a datagram over FRAME_DATA_MAX was dropped */
};

enum frame_result {
	FRAME_ERROR = -1, /* protocol error: end this tunnel connection */
	FRAME_NEED_MORE = 0,
	FRAME_OK = 1,
};

/* Who writes the stream a decoder reads.  A relay's output may follow login-shell noise;
 * a client's output must start with the magic. */
enum frame_peer {
	FRAME_PEER_RELAY,
	FRAME_PEER_CLIENT,
};

struct frame {
	enum frame_type type;
	/* The raw payload; valid until the next frame_decoder_feed(). */
	const uint8_t *payload;
	size_t len;
	uint8_t version_min, version_max; /* HELLO */
	uint8_t code;                     /* CLOSE status, NOTICE code */
	uint8_t token[FRAME_TOKEN_LEN];   /* PING, PONG */
	/* HELLO implementation, CLOSE reason, NOTICE text: printable ASCII, NUL-terminated,
	 * anything else replaced by '?', so it is safe to print. */
	char text[FRAME_TEXT_MAX + 1];
};

struct frame_decoder {
	enum frame_peer peer;
	int state;
	uint8_t *buf; /* unconsumed input is buf[off..len) */
	size_t off, len, cap;
	size_t noise;   /* bytes skipped before the magic */
	char tail[160]; /* the last noise bytes, for "no relay handshake" */
	size_t tail_len;
	char err[512];
};

void frame_decoder_init(struct frame_decoder *, enum frame_peer);
void frame_decoder_free(struct frame_decoder *);
/* Append received bytes; any chunking is fine.  Ignored after an error or a CLOSE. */
void frame_decoder_feed(struct frame_decoder *, const void *, size_t);
/* The next complete frame.  FRAME_ERROR is sticky; frame_decoder_error() says why.  The
 * first frame is always the peer's HELLO.  After a CLOSE, FRAME_NEED_MORE forever. */
enum frame_result frame_decoder_next(struct frame_decoder *, struct frame *);
/* The stream ended.  0 if it ended cleanly between frames (or after CLOSE); -1 with a
 * message otherwise, e.g. "no relay handshake; the remote side printed: ...". */
int frame_decoder_eof(struct frame_decoder *);
const char *frame_decoder_error(const struct frame_decoder *);

/* Encoders write one frame into out and return its length.  out must hold
 * FRAME_ENCODED_MAX bytes (smaller is a caller bug: fatalx).  Text is cut to its limit
 * and anything unprintable sent as '?'. */
size_t frame_encode_hello(uint8_t *out, size_t outsz, int vmin, int vmax, const char *impl);
/* 0 and a message naming the size if the datagram is larger than FRAME_DATA_MAX. */
size_t frame_encode_data(uint8_t *out, size_t outsz, const void *, size_t, char *err, size_t errsz);
size_t frame_encode_ping(uint8_t *out, size_t outsz, const uint8_t token[FRAME_TOKEN_LEN]);
size_t frame_encode_pong(uint8_t *out, size_t outsz, const uint8_t token[FRAME_TOKEN_LEN]);
size_t frame_encode_close(uint8_t *out, size_t outsz, int status, const char *reason);
size_t frame_encode_notice(uint8_t *out, size_t outsz, int code, const char *text);

/* Both ends run this on the two HELLOs and so agree without a third message: the highest
 * version both speak, or -1. */
int frame_version_choose(int min_a, int max_a, int min_b, int max_b);
/* A one-line, printable, bounded rendering of untrusted text (remote output, stderr):
 * control bytes and escapes dropped, line breaks shown as " / ", cut with "...". */
void frame_excerpt(const void *, size_t, char *out, size_t outsz);

#endif
