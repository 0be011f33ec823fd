/* SPDX-License-Identifier: MIT */
#include "src/link/moshpkt.h"

#include <openssl/evp.h>
#include <string.h>

#include "src/util/xmalloc.h"

struct moshpkt_key {
	unsigned char k[16];
	EVP_CIPHER_CTX *dec, *enc;
};

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

struct moshpkt_key *
moshpkt_key_new(const char *b64)
{
	struct moshpkt_key *k;
	unsigned char raw[17];
	unsigned acc = 0;
	int bits = 0, n = 0, v;

	if (b64 == NULL || strlen(b64) != MOSHPKT_KEY_B64)
		return NULL;
	for (const char *p = b64; *p != '\0'; p++) {
		if ((v = b64val((unsigned char)*p)) < 0)
			return NULL;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* 22 characters hold 132 bits: 16 bytes and 4 bits that must be zero. */
	if (n != 16 || (acc & ((1u << bits) - 1)) != 0)
		return NULL;
	k = xcalloc(1, sizeof *k);
	memcpy(k->k, raw, 16);
	explicit_bzero(raw, sizeof raw);
	if ((k->dec = EVP_CIPHER_CTX_new()) == NULL || (k->enc = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(k->dec, EVP_aes_128_ocb(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(k->dec, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_DecryptInit_ex(k->dec, NULL, NULL, k->k, NULL) != 1 ||
	    EVP_EncryptInit_ex(k->enc, EVP_aes_128_ocb(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(k->enc, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_EncryptInit_ex(k->enc, NULL, NULL, k->k, NULL) != 1) {
		moshpkt_key_free(k);
		return NULL;
	}
	return k;
}

void
moshpkt_key_free(struct moshpkt_key *k)
{
	if (k == NULL)
		return;
	EVP_CIPHER_CTX_free(k->dec);
	EVP_CIPHER_CTX_free(k->enc);
	explicit_bzero(k->k, sizeof k->k);
	free(k);
}

static void
nonce12(const unsigned char *wire, unsigned char iv[12])
{
	memset(iv, 0, 4);
	memcpy(iv + 4, wire, 8);
}

int
moshpkt_open(struct moshpkt_key *k, const void *buf, size_t len, struct moshpkt *out)
{
	const unsigned char *b = buf;
	unsigned char iv[12], plain[MOSHPKT_MAX];
	unsigned char tag[MOSHPKT_TAG];
	int n = 0, fin = 0;
	size_t clen;
	uint64_t nonce = 0;

	if (k == NULL || buf == NULL || len < MOSHPKT_MIN || len > MOSHPKT_MAX)
		return -1;
	clen = len - MOSHPKT_NONCE - MOSHPKT_TAG;
	nonce12(b, iv);
	memcpy(tag, b + len - MOSHPKT_TAG, MOSHPKT_TAG);
	if (EVP_DecryptInit_ex(k->dec, NULL, NULL, NULL, iv) != 1 ||
	    EVP_CIPHER_CTX_ctrl(k->dec, EVP_CTRL_AEAD_SET_TAG, MOSHPKT_TAG, tag) != 1 ||
	    EVP_DecryptUpdate(k->dec, plain, &n, b + MOSHPKT_NONCE, (int)clen) != 1 ||
	    EVP_DecryptFinal_ex(k->dec, plain + n, &fin) != 1) {
		explicit_bzero(plain, sizeof plain);
		return -1;
	}
	if ((size_t)(n + fin) < 4) {
		explicit_bzero(plain, sizeof plain);
		return -1;
	}
	for (int i = 0; i < 8; i++)
		nonce = nonce << 8 | b[i];
	out->to_client = (int)(nonce >> 63);
	out->seq = nonce & ~(UINT64_C(1) << 63);
	out->timestamp = (uint16_t)(plain[0] << 8 | plain[1]);
	out->reply = (uint16_t)(plain[2] << 8 | plain[3]);
	explicit_bzero(plain, sizeof plain);
	return 0;
}

size_t
moshpkt_seal(struct moshpkt_key *k, const struct moshpkt *p, const void *payload, size_t plen,
    unsigned char *out, size_t outsz)
{
	unsigned char iv[12], plain[MOSHPKT_MAX];
	uint64_t nonce = (p->seq & ~(UINT64_C(1) << 63)) | ((uint64_t)(p->to_client != 0) << 63);
	size_t total = MOSHPKT_NONCE + 4 + plen + MOSHPKT_TAG;
	int n = 0, fin = 0;

	if (total > outsz || total > MOSHPKT_MAX)
		return 0;
	for (int i = 7; i >= 0; i--, nonce >>= 8)
		out[i] = (unsigned char)nonce;
	plain[0] = (unsigned char)(p->timestamp >> 8);
	plain[1] = (unsigned char)p->timestamp;
	plain[2] = (unsigned char)(p->reply >> 8);
	plain[3] = (unsigned char)p->reply;
	if (plen > 0)
		memcpy(plain + 4, payload, plen);
	nonce12(out, iv);
	if (EVP_EncryptInit_ex(k->enc, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(k->enc, out + MOSHPKT_NONCE, &n, plain, (int)(4 + plen)) != 1 ||
	    EVP_EncryptFinal_ex(k->enc, out + MOSHPKT_NONCE + n, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(k->enc, EVP_CTRL_AEAD_GET_TAG, MOSHPKT_TAG,
	        out + MOSHPKT_NONCE + 4 + plen) != 1)
		return 0;
	return total;
}

int
moshpkt_rtt(uint16_t reply, int64_t now_mono_ms)
{
	if (reply == MOSHPKT_NO_REPLY)
		return -1;
	return (int)(((uint32_t)now_mono_ms - reply) & 0xFFFF);
}
