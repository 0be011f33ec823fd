#!/bin/sh
# SPDX-License-Identifier: MIT
# Style needs no review: every C file is as .clang-format says (`make format` fixes it).
. "$MOSHMAN_TOP/tests/t.sh"
t_plan 2
cd "$MOSHMAN_TOP" || exit 1
t_check "clang-format is installed (Makefile TEST_DEBS)" command -v clang-format
out=$(make -s --no-print-directory format-check 2>&1)
if [ $? = 0 ]; then
	t_ok "every C file is formatted as .clang-format says"
else
	t_fail "every C file is formatted as .clang-format says" \
		"$(printf '%s\n' "$out" | grep -o '^[^:]*\.[ch]:' | sort -u | tr -d ':' | tr '\n' ' ')(make format fixes them)"
fi
t_done
