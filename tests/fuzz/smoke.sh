#!/bin/sh
# SPDX-License-Identifier: MIT
# A fuzz target's smoke run for tests/run.sh: 30,000 inputs or 15 s on its seeds
# (tests/fuzz/corpus/NAME).  New inputs go to a scratch directory, never into the seeds.
# usage: sh tests/fuzz/smoke.sh BUILD/fuzz/fuzz_NAME
set -u
t=${1:?usage: smoke.sh FUZZ_BINARY}
n=$(basename "$t")
corpus="$(cd "$(dirname "$0")" && pwd)/corpus/$n"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/moshman-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
if [ -d "$corpus" ]; then set -- "$scratch" "$corpus"; else set -- "$scratch"; fi
echo "1..1"
if "$t" -runs=30000 -max_total_time=15 -artifact_prefix="$scratch/" "$@" \
    >"$scratch/log" 2>&1 </dev/null; then
	echo "ok - fuzz smoke: $n"
else
	tail -n 30 "$scratch/log"
	echo "not ok - fuzz smoke: $n (reproduce: $t $corpus)"
fi
