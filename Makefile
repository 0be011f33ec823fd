# SPDX-License-Identifier: MIT
# moshman: see README.md.  `make run` opens the dashboard, `make check` runs every test.
#
# Layout: db/ (SQLite only) <- src/ (core, no curses) <- ui/ (entry point, ncurses).
# src/ has one folder per subsystem: util/ (used by all), ssh/ (reaching a host), link/
# (carrying datagrams), session/ (one session's life), scan/ (finding orphans), cmd/ (the
# CLI); `make layers` checks who may include whom.
# Every src/*/*.c and db/*.c goes into build/libmoshman.a; ui/*.c plus that library make
# the binary; each tests/unit/test_*.c is a unit program linked against the library;
# each tests/fuzz/fuzz_*.c is a libFuzzer target.  New files need no Makefile edits.

VERSION   = 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
CC       ?= cc

# Packages, by Debian name.  `make deps` installs BUILD_DEBS, `make check` also TEST_DEBS.
BUILD_DEBS = build-essential pkg-config libncurses-dev libssh-dev libsqlite3-dev libev-dev libssl-dev
TEST_DEBS  = clang libclang-rt-14-dev openssh-server openssh-client mosh microsocks \
             tinyproxy shadowsocks-libev nftables iproute2 tmux perl procps jq \
             psmisc socat netcat-openbsd ncat busybox sqlite3 \
             net-tools lsof util-linux tcsh csh fish zsh clang-format
BENCH_DEBS = gnuplot-nox hyperfine strace

PKGS      = ncursesw libssh sqlite3 libcrypto
# Recursively expanded on purpose: evaluated after `deps` has installed the packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) \
             $(shell pkg-config --libs libev 2>/dev/null || echo -lev)

WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wpointer-arith -Wcast-qual -Wvla -Wundef -Wno-unused-parameter
ifneq ($(CI),)
WERROR   = -Werror
endif
OPT     ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -DMOSHMAN_VERSION='"$(VERSION)"' -I. -I$(BUILD)/gen
CFLAGS   += -std=c11 $(OPT) $(WARN) $(WERROR) -MMD -MP
LDLIBS   += $(PKG_LIBS)

LIB_SRC  = $(sort $(wildcard src/*/*.c db/*.c))
UI_SRC   = $(sort $(wildcard ui/*.c))
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))
GEN_SRC  = $(sort $(wildcard src/*/*.pl src/*/*.sh))
GEN_HDR  = $(patsubst src/%,$(BUILD)/gen/%.h,$(GEN_SRC))

LIB_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC))
UI_OBJ   = $(patsubst %.c,$(BUILD)/%.o,$(UI_SRC))
UNIT_BIN = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
LIB      = $(BUILD)/libmoshman.a
BIN      = $(BUILD)/moshman

.PHONY: all run check soak test asan fuzz fuzz-smoke bench install uninstall clean deps \
        deps-test deps-bench layers config format format-check
.DEFAULT_GOAL := all
# Generated headers are inputs, not intermediates: keep them between builds.
.SECONDARY: $(GEN_HDR)

COMPLETIONS = $(BUILD)/completions/moshman.bash $(BUILD)/completions/_moshman \
              $(BUILD)/completions/moshman.fish

all: config layers $(BIN) $(UNIT_BIN) $(COMPLETIONS)

# ---- dependencies --------------------------------------------------------------------
# Installs the missing Debian packages as root (one apt-get update first); otherwise
# prints the exact command and stops.
define need_debs
	@command -v dpkg-query >/dev/null 2>&1 || { echo "moshman: not a Debian system; install: $(1)" >&2; exit 0; }; \
	missing=; for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "moshman: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null || exit 1; \
	  else \
	    echo "moshman: missing packages. As root, run:" >&2; \
	    echo "  apt-get update && apt-get install -y$$missing" >&2; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call need_debs,$(BUILD_DEBS))
deps-test:
	$(call need_debs,$(BUILD_DEBS) $(TEST_DEBS))
deps-bench:
	$(call need_debs,$(BUILD_DEBS) $(TEST_DEBS) $(BENCH_DEBS))

config:
	@pkg-config --exists $(PKGS) || { echo "moshman: missing libraries ($(PKGS)); run 'make deps'" >&2; exit 1; }
	@pkg-config --atleast-version=0.10.6 libssh || { echo "moshman: libssh >= 0.10.6 required, found $$(pkg-config --modversion libssh)" >&2; exit 1; }
	@test -f /usr/include/ev.h || test -f /usr/local/include/ev.h || { echo "moshman: libev headers missing; run 'make deps'" >&2; exit 1; }

# ---- layering: ui -> src -> db, never back ---------------------------------------------
layers:
	@fail=0; \
	if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](n?curses|ncursesw/|ev\.h|libssh/|(\.\./)?(src|ui)/)' db/*.[ch] 2>/dev/null; then \
	  echo "layers: db/ may include only SQLite and libc headers" >&2; fail=1; fi; \
	if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](n?curses|ncursesw/|(\.\./)?ui/)' src/*/*.[ch] 2>/dev/null; then \
	  echo "layers: src/ must not include curses or ui/ headers" >&2; fail=1; fi; \
	for rule in 'util:src/(ssh|link|session|scan|cmd)/|db/' 'ssh:src/(link|session|scan|cmd)/' \
	            'link:src/(session|scan|cmd)/' 'scan:src/(link|cmd)/' 'session:src/(scan|cmd)/'; do \
	  d=$${rule%%:*}; pat=$${rule#*:}; \
	  if grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"($$pat)" src/$$d/*.[ch] 2>/dev/null; then \
	    echo "layers: src/$$d/ may not include $$pat" >&2; fail=1; fi; \
	done; \
	if grep -nE '(\<(sqlite3|ssh)_[a-z0-9_]+[[:space:]]*\(|#[[:space:]]*include[[:space:]]*[<"](sqlite3\.h|libssh/))' ui/*.[ch] 2>/dev/null; then \
	  echo "layers: ui/ must not call sqlite3_* or ssh_* (go through src/)" >&2; fail=1; fi; \
	if grep -nE '\<(malloc|calloc|realloc|strdup|strcpy|strcat|sprintf|vsprintf)[[:space:]]*\(' src/*/*.c ui/*.c db/*.c 2>/dev/null | grep -v 'src/util/xmalloc.c'; then \
	  echo "layers: use xmalloc/xstrdup/xasprintf and snprintf (db/: sqlite3_malloc)" >&2; fail=1; fi; \
	exit $$fail

# ---- build ---------------------------------------------------------------------------
$(BUILD)/%.o: %.c | $(GEN_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

# src/link/foo.pl -> $(BUILD)/gen/link/foo.pl.h holding `static const char foo_pl[]`.
$(BUILD)/gen/%.h: src/%
	@mkdir -p $(dir $@)
	@n=$$(basename $* | tr '.-' '__'); { \
	  echo "/* generated from src/$* by the Makefile; do not edit */"; \
	  echo "static const char $${n}[] = {"; \
	  od -An -v -tx1 $< | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo "0x00 };"; } > $@.tmp && mv $@.tmp $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(UI_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(UI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(UI_OBJ:.o=.d)

# ---- run and test ----------------------------------------------------------------------
run:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	$(BIN) $(ARGS)

check:
	@$(MAKE) --no-print-directory deps-test
	@$(MAKE) --no-print-directory all fuzz-build
	@sh tests/run.sh $(BUILD) $(TESTS)

# The long chaos runs (10 min each of roams, freezes, blackholes and proxy kills, on tcp
# and then on auto with UDP blocks too, while 2,000 lines are typed); `make check` runs
# 2-minute ones (tunnel_chaos, auto_chaos).
soak: all
	@MOSHMAN_TOP=$(CURDIR) MOSHMAN_BIN=$(CURDIR)/$(BIN) CHAOS_S=600 bash tests/e2e/tunnel_chaos.sh
	@MOSHMAN_TOP=$(CURDIR) MOSHMAN_BIN=$(CURDIR)/$(BIN) CHAOS_S=600 CHAOS_TRANSPORT=auto \
	    bash tests/e2e/tunnel_chaos.sh

# The suite without installing anything (for a quick loop while editing).
test: all
	@sh tests/run.sh $(BUILD) $(TESTS)

asan:
	@$(MAKE) --no-print-directory deps-test
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang \
	  OPT='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	  LDFLAGS='-fsanitize=address,undefined' all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  MOSHMAN_NO_FUZZ=1 sh tests/run.sh build-asan $(TESTS)

# ---- fuzzing (clang, libFuzzer) --------------------------------------------------------
# `make fuzz` runs every target for FUZZ_SECONDS (60) on its seeds (tests/fuzz/corpus/NAME,
# read only) plus a scratch corpus ($(FUZZ_BUILD)/corpus/NAME).  A crash, leak or timeout
# stops that target, its input is saved in $(FUZZ_BUILD)/findings/NAME/, the other
# targets still run, and the run fails naming every saved input.  Full logs:
# $(FUZZ_BUILD)/log/NAME.log.  Objects get the project's flags ($(CFLAGS): warnings,
# -MMD -MP); FUZZ_FLAGS come last, so -O1 wins over OPT's -O2.
FUZZ_BUILD = $(BUILD)/fuzz
FUZZ_BIN   = $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer-no-link,address,undefined
FUZZ_LIB_OBJ = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRC))

fuzz-build: $(FUZZ_BIN)
fuzz: fuzz-build
	@secs=$${FUZZ_SECONDS:-60}; failed=; \
	for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$n $(FUZZ_BUILD)/findings/$$n $(FUZZ_BUILD)/log; \
	  log=$(FUZZ_BUILD)/log/$$n.log; \
	  echo "fuzz: $$n ($$secs s; corpus $(FUZZ_BUILD)/corpus/$$n; log $$log)"; \
	  $$f -max_total_time=$$secs -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/findings/$$n/ $(FUZZ_BUILD)/corpus/$$n \
	    $$([ -d tests/fuzz/corpus/$$n ] && echo tests/fuzz/corpus/$$n) >$$log 2>&1; rc=$$?; \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -n 1); \
	  saved=$$(sed -n 's/.*Test unit written to \(.*\)$$/\1/p' $$log); \
	  if [ $$rc -eq 0 ] && [ -z "$$saved" ]; then \
	    echo "fuzz: $$n: ok, $${runs:-?} executions"; \
	  else \
	    grep -E '^(==[0-9]+==ERROR|SUMMARY|[^ ]*: runtime error)' $$log | head -n 5; \
	    echo "fuzz: $$n: FAILED (status $$rc) after $${runs:-?} executions; input saved in: $${saved:-(none; see $$log)}"; \
	    failed="$$failed $$n"; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "fuzz: findings in:$$failed (inputs in $(FUZZ_BUILD)/findings/; add each to tests/fuzz/corpus/NAME/ once fixed)"; \
	  exit 1; fi

$(FUZZ_BUILD)/obj/%.o: %.c | $(GEN_HDR)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(FUZZ_FLAGS) -c -o $@ $<

$(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MF $@.d -g -O1 -fsanitize=fuzzer,address,undefined \
	  -o $@ $< $(FUZZ_LIB_OBJ) $(LDLIBS)

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_BIN:=.d)

# ---- benchmarks ------------------------------------------------------------------------
bench:
	@$(MAKE) --no-print-directory deps-bench
	@$(MAKE) --no-print-directory all
	@if [ -x bench/run.sh ]; then bench/run.sh $(BUILD); \
	 else echo "bench: no benchmarks yet (bench/run.sh)"; fi

# ---- shell completions: written by the binary, so they follow its command table --------
$(BUILD)/completions/moshman.bash: $(BIN)
	@mkdir -p $(@D)
	$(BIN) complete bash >$@.tmp && mv $@.tmp $@
$(BUILD)/completions/_moshman: $(BIN)
	@mkdir -p $(@D)
	$(BIN) complete zsh >$@.tmp && mv $@.tmp $@
$(BUILD)/completions/moshman.fish: $(BIN)
	@mkdir -p $(@D)
	$(BIN) complete fish >$@.tmp && mv $@.tmp $@

# ---- formatting (.clang-format: tmux's style(9) as the tree writes it) ----------------
# `make format` rewrites the C files; tests/e2e/format.sh runs format-check in `make check`.
FORMAT_SRC = $(sort $(wildcard src/*/*.[ch] ui/*.[ch] db/*.[ch] tests/unit/*.[ch] \
             tests/fuzz/*.c bench/*.c))

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run -Werror $(FORMAT_SRC)

# ---- install ---------------------------------------------------------------------------
SHARE = $(DESTDIR)$(PREFIX)/share
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/man/man1 $(SHARE)/doc/moshman \
	    $(SHARE)/bash-completion/completions $(SHARE)/zsh/site-functions \
	    $(SHARE)/fish/vendor_completions.d
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/moshman
	install -m 0644 docs/moshman.1 $(SHARE)/man/man1/moshman.1
	install -m 0644 LICENSE $(SHARE)/doc/moshman/LICENSE
	install -m 0644 $(BUILD)/completions/moshman.bash $(SHARE)/bash-completion/completions/moshman
	install -m 0644 $(BUILD)/completions/_moshman $(SHARE)/zsh/site-functions/_moshman
	install -m 0644 $(BUILD)/completions/moshman.fish $(SHARE)/fish/vendor_completions.d/moshman.fish

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/moshman $(SHARE)/man/man1/moshman.1 \
	    $(SHARE)/doc/moshman/LICENSE $(SHARE)/bash-completion/completions/moshman \
	    $(SHARE)/zsh/site-functions/_moshman $(SHARE)/fish/vendor_completions.d/moshman.fish
	-rmdir $(SHARE)/doc/moshman 2>/dev/null

clean:
	rm -rf build build-asan
