#!/bin/bash
# SPDX-License-Identifier: MIT
# make install DESTDIR=... PREFIX=/usr puts the binary, the man page, the licence and the
# three shell completions where distributions expect them, with sane modes; the
# installed binary runs, the man page renders, the installed zsh and fish files load; and
# make uninstall takes every file away again.  About 3 s (nothing is rebuilt: -o all).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
TOP=${MOSHMAN_TOP:?}
B=${MOSHMAN_BUILD:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/moshman-install.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
. "$MOSHMAN_TOP/tests/t.sh"
T_PREFIX=install
t_plan 17
D=$T/root
umask 022

out=$(make -s -C "$TOP" -o all install DESTDIR="$D" PREFIX=/usr BUILD="$B" 2>&1)
[ $? = 0 ] && t_ok "make install DESTDIR=... PREFIX=/usr exits 0" || { t_fail "make install exits 0" "$out"; exit 1; }

# path mode: each file, regular (not a link), owned as installed, with that mode.
expect_file() {
	local f=$D$1 mode
	if [ ! -f "$f" ] || [ -L "$f" ]; then t_fail "$1 installed" "missing or not a regular file"; return; fi
	mode=$(stat -c %a "$f")
	[ "$mode" = "$2" ] && t_ok "$1 is there, mode $2" || t_fail "$1 mode" "$mode, expected $2"
}
expect_file /usr/bin/moshman 755
expect_file /usr/share/man/man1/moshman.1 644
expect_file /usr/share/doc/moshman/LICENSE 644
expect_file /usr/share/bash-completion/completions/moshman 644
expect_file /usr/share/zsh/site-functions/_moshman 644
expect_file /usr/share/fish/vendor_completions.d/moshman.fish 644
bad=$(find "$D" -perm /022 ! -type l -printf '%m %p\n')
[ -z "$bad" ] && t_ok "nothing installed is group- or world-writable" || t_fail "nothing installed is group- or world-writable" "$bad"
extra=$(cd "$D" && find . -type f | sort | tr '\n' ' ')
[ "$extra" = "./usr/bin/moshman ./usr/share/bash-completion/completions/moshman ./usr/share/doc/moshman/LICENSE ./usr/share/fish/vendor_completions.d/moshman.fish ./usr/share/man/man1/moshman.1 ./usr/share/zsh/site-functions/_moshman " ] &&
	t_ok "exactly those six files" || t_fail "exactly those six files" "$extra"

v=$("$D/usr/bin/moshman" --version 2>&1)
[[ $v == "moshman "[0-9]* ]] && t_ok "the installed binary runs ($v)" || t_fail "the installed binary runs" "$v"
cmp -s "$D/usr/bin/moshman" "$B/moshman" && t_ok "it is the binary built" || t_fail "it is the binary built"
warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$D/usr/share/man/man1/moshman.1" 2>&1 >/dev/null)
[ -z "$warn" ] && t_ok "the man page renders without warnings" || t_fail "the man page renders without warnings" "$warn"
grep -q "MIT License" "$D/usr/share/doc/moshman/LICENSE" && t_ok "the licence is MIT" || t_fail "the licence is MIT"
out=$(zsh -f -c "fpath=('$D/usr/share/zsh/site-functions' \$fpath); autoload -Uz +X _moshman && echo loaded" 2>&1)
[ "$out" = loaded ] && t_ok "the installed zsh completion loads" || t_fail "the installed zsh completion loads" "$out"
out=$(fish --no-config -c "source '$D/usr/share/fish/vendor_completions.d/moshman.fish'; and echo loaded" 2>&1)
[ "$out" = loaded ] && t_ok "the installed fish completion loads" || t_fail "the installed fish completion loads" "$out"
out=$(bash --norc --noprofile -c ". '$D/usr/share/bash-completion/completions/moshman' && complete -p moshman" 2>&1)
grep -q "_moshman moshman" <<<"$out" && t_ok "the installed bash completion registers" || t_fail "the installed bash completion registers" "$out"

out=$(make -s -C "$TOP" uninstall DESTDIR="$D" PREFIX=/usr BUILD="$B" 2>&1)
left=$(find "$D" -type f)
[ -z "$left" ] && t_ok "make uninstall removes every file" || t_fail "make uninstall removes every file" "$left $out"
t_done
