/* SPDX-License-Identifier: MIT */
/* Hexadecimal digits, for the parsers that decode %XX escapes and hex dumps. */
#ifndef MOSHMAN_HEX_H
#define MOSHMAN_HEX_H

/* The value of one hex digit (either case), or -1 when c is none. */
int hex_digit(int c);

#endif
