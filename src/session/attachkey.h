/* SPDX-License-Identifier: MIT */
/*
 * The attach client's keyboard filter: everything typed goes to mosh-client byte for
 * byte, except one sequence, Ctrl-^ followed by the detach key (default 'd'), which
 * detaches.  Ctrl-^ is mosh-client's own escape key, so its sequences (Ctrl-^ . quits,
 * Ctrl-^ Ctrl-Z suspends, Ctrl-^ ^ and Ctrl-^ Ctrl-^ type a Ctrl-^) and Ctrl-^ followed by
 * anything else pass through unchanged: a held Ctrl-^ is released together with the key
 * that follows it, so mosh-client sees exactly what was typed.  A Ctrl-^ at the end of
 * one read waits for the next read.  Pure: no I/O.
 */
#ifndef MOSHMAN_ATTACHKEY_H
#define MOSHMAN_ATTACHKEY_H

#include <stddef.h>

#define ATTACHKEY_ESCAPE 0x1e /* Ctrl-^, mosh-client's escape key */
#define ATTACHKEY_DEFAULT 'd'
#define ATTACHKEY_ENV "MOSHMAN_DETACH_KEY"

struct attachkey {
	unsigned char detach; /* the key after Ctrl-^ that detaches */
	int held;             /* a Ctrl-^ was read; what follows decides */
};

void attachkey_init(struct attachkey *, unsigned char detach);

/* Parses a detach key: one printable character ("d", "x") or ^X for a control key
 * ("^D").  Keys mosh-client gives a meaning after Ctrl-^ ('.', '^', Ctrl-Z, Ctrl-^) are
 * refused, and so is a space.  0, or -1 with why in err. */
int attachkey_parse(const char *spec, unsigned char *out, char *err, size_t errlen);

/* Filters n bytes of keyboard input.  What goes on to mosh-client is written to out,
 * which must hold n + 1 bytes (a held Ctrl-^ comes out with its follower); returns how
 * many.  On the detach sequence *detach is set and the rest of in is left unread
 * (*used says how much was read); otherwise *used is n. */
size_t attachkey_feed(struct attachkey *, const unsigned char *in, size_t n, unsigned char *out,
    size_t *used, int *detach);

/* The key as the user types it, for messages: "Ctrl-^ d" (buf of 16 bytes or more). */
const char *attachkey_name(unsigned char detach, char *buf, size_t len);

#endif
