/* SPDX-License-Identifier: MIT */
#include "src/util/hex.h"
#include "tests/unit/unit.h"

static void
every_digit(void)
{
	const char *lo = "0123456789abcdef", *up = "0123456789ABCDEF";

	for (int i = 0; i < 16; i++) {
		CHECK_INT(hex_digit(lo[i]), i);
		CHECK_INT(hex_digit(up[i]), i);
	}
}

static void
nothing_else(void)
{
	int n = 0;

	/* Every other byte, signed or not, and EOF: exactly 22 of 257 values are digits. */
	for (int c = -128; c < 256; c++)
		n += hex_digit(c) >= 0;
	CHECK_INT(n, 22);
	CHECK_INT(hex_digit('g'), -1);
	CHECK_INT(hex_digit('G'), -1);
	CHECK_INT(hex_digit('/'), -1);
	CHECK_INT(hex_digit(':'), -1);
	CHECK_INT(hex_digit('@'), -1);
	CHECK_INT(hex_digit('`'), -1);
	CHECK_INT(hex_digit('\0'), -1);
	CHECK_INT(hex_digit(-1), -1);
	CHECK_INT(hex_digit((char)0xc3), -1);
}

int
main(void)
{
	UNIT_BEGIN("test_hex");
	RUN(every_digit);
	RUN(nothing_else);
	UNIT_END();
}
