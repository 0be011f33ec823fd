/* SPDX-License-Identifier: MIT */
/*
 * mosh's datagrams, opened with the session key (moshman holds it: MOSH CONNECT).  Pure:
 * bytes and a key in, a verdict and mosh's own fields out.
 *
 * Wire (mosh src/network/network.cc, src/crypto/crypto.cc): an 8-byte big-endian nonce
 * in clear (bit 63: direction, 1 = to the client; bits 0..62: the sender's counter), then
 * AES-128-OCB (RFC 7253) ciphertext with a 16-byte tag; the 12-byte OCB nonce is four
 * zero bytes and those eight.  The plaintext starts with two 16-bit big-endian fields:
 * the sender's timestamp (its CLOCK_MONOTONIC ms mod 65536) and timestamp_reply (the
 * last timestamp it received from the other side, plus how long it held it; 0xFFFF =
 * none: it heard nothing in the last second).
 *
 * What moshman reads from them:
 * - authentic or not: only a datagram that opens under the key is mosh-client's (the
 *   local relay follows no one else) or mosh-server's;
 * - the round trip: mosh-client and moshman share the machine's CLOCK_MONOTONIC, so a
 *   server datagram's timestamp_reply, against moshman's own clock, is the real round
 *   trip of the path (less the server's hold, which mosh itself subtracts too);
 * - whether the server hears the client: mosh-server answers every client heartbeat
 *   within ~100 ms with a timestamp_reply; server datagrams that keep coming without
 *   one while the client sends mean client-to-server is lost (UDP blocked one way).
 */
#ifndef MOSHMAN_MOSHPKT_H
#define MOSHMAN_MOSHPKT_H

#include <stddef.h>
#include <stdint.h>

#define MOSHPKT_NONCE 8
#define MOSHPKT_TAG 16
#define MOSHPKT_MIN (MOSHPKT_NONCE + MOSHPKT_TAG + 4)
#define MOSHPKT_MAX 2048
#define MOSHPKT_NO_REPLY 0xFFFF
#define MOSHPKT_KEY_B64 22

struct moshpkt_key;

struct moshpkt {
	uint64_t seq;  /* the sender's counter */
	int to_client; /* direction bit */
	uint16_t timestamp;
	uint16_t reply; /* MOSHPKT_NO_REPLY: none */
};

/* The key as MOSH CONNECT prints it (22 base64 characters, no padding).  NULL when it is
 * not one. */
struct moshpkt_key *moshpkt_key_new(const char *b64);
void moshpkt_key_free(struct moshpkt_key *);
/* 0 and *out when buf is an authentic datagram under the key, else -1. */
int moshpkt_open(struct moshpkt_key *, const void *buf, size_t len, struct moshpkt *out);
/* A datagram as mosh would send it (for tests and the fuzzer's seeds): nonce from seq
 * and to_client, plaintext = timestamps + payload.  Returns its length, 0 if out is too
 * small. */
size_t moshpkt_seal(struct moshpkt_key *, const struct moshpkt *, const void *payload, size_t plen,
    unsigned char *out, size_t outsz);
/* Round trip in ms from a server datagram's reply and the local CLOCK_MONOTONIC ms; -1
 * without a reply. */
int moshpkt_rtt(uint16_t reply, int64_t now_mono_ms);

#endif
