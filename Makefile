# latch: authentication service as pre-forked FastCGI workers.
#
#   make          build the programs into build/
#   make run      install missing packages, build, run MariaDB + latchd +
#                 lighttpd in the foreground (the pages on
#                 http://127.0.0.1:$(PORT)/, the API under /api)
#   make check    install missing packages, build, run every test
#   make check-cluster  the cross-host tests (tests/cluster/): three
#                 MariaDB Galera nodes and two latch hosts on loopback
#   make bench    install missing packages, build, measure latch against a
#                 null FastCGI responder (a few minutes; build/bench.md)
#   make install  install the programs, their manual pages, the example
#                 config, the mail templates, contrib/ and the pages
#                 (www/) under PREFIX;
#                 without DESTDIR also
#                 make SYSCONFDIR/latch/latch.ini with a fresh jwt_secret
#                 (latchctl init) unless it exists; into a staged tree
#                 (DESTDIR) never a config
#   make deb      build/deb/latch_VERSION_ARCH.deb, the Debian way
#                 (debian/, debhelper, from a copy of the tree), checked
#                 by lintian (build/deb/lintian.txt; an error fails)
#   make fuzz     build the libFuzzer harnesses (clang) into build-fuzz/ and
#                 run each FUZZ_SECONDS (60); new inputs go to build-fuzz/
#   make format   lay the C sources out as .clang-format says
#                 ("make format-check", part of "make check", checks it)
#   make mutants  mutation testing (slow, not in check): plant each bug of
#                 core/, fcgi/ and tools/mutants.txt in turn, build into
#                 build-mutants/, run the tests; MUTANTS="name ..." for some
#
#   SANITIZE=1    build into build-asan/ with -fsanitize=address,undefined;
#                 "make check SANITIZE=1" runs the suite on those binaries

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
MANDIR ?= $(PREFIX)/share/man
PORT ?= 8080
SANITIZE ?=

CC ?= cc
PKGS = json-c libmariadb openssl fcgi inih libqrencode
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN = -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter
ifdef CI
WARN += -Werror
endif
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -fPIE -MMD -MP -Icore -Ifcgi $(PKG_CFLAGS)
LDFLAGS += -pie -Wl,-z,relro,-z,now
LDLIBS = $(PKG_LIBS) -lscrypt -lcrypt -largon2

B = build
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-U_FORTIFY_SOURCE
LDFLAGS += -fsanitize=address,undefined
B = build-asan
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1
endif
export LATCH_BUILD = $(B)
CORE_SRC := $(sort $(wildcard core/*.c))
FCGI_SRC := $(sort $(filter-out fcgi/latchd.c,$(wildcard fcgi/*.c)))
CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o) $(B)/core/schema.o
FCGI_OBJ := $(FCGI_SRC:%.c=$(B)/%.o) $(B)/fcgi/openapi.o
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# Core tests (tests/core/test_*.c): core/ against a scratch MariaDB
# database each, started by tests/run.py; tcore.c is their harness.
CORE_TEST_SRC := $(sort $(wildcard tests/core/test_*.c))
CORE_TEST_BIN := $(CORE_TEST_SRC:tests/core/%.c=$(B)/tests/core/%)
MIGRATIONS := $(sort $(wildcard sql/[0-9]*.sql))

PROGS = $(B)/latchd $(B)/latchctl $(B)/latch-mailer

# latch-mailer needs no database: it links only the modules it uses (the
# config, the spool and what it builds on, SMTP) and neither libmariadb
# nor json-c nor libfcgi; a module it starts to use goes on this list.
MAILER_OBJ := $(addprefix $(B)/core/,b64.o conf.o file.o key.o log.o \
	metrics.o msg.o net.o smtp.o spool.o str.o tmpl.o tok.o valid.o)
MAILER_LIBS := $(shell pkg-config --libs openssl inih 2>/dev/null)

# Fuzz harnesses (tests/fuzz/fuzz_*.c): "make check" runs each once per
# seed file through tests/fuzz/driver.c, built with $(CC) and CFLAGS.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_BIN := $(FUZZ_NAMES:%=$(B)/fuzz/%)

all: $(PROGS) $(UNIT_BIN) $(CORE_TEST_BIN) $(FUZZ_BIN)

# The programs alone (what the Debian package builds).
progs: $(PROGS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The version /metrics shows (latch_build_info): debian/changelog's.
VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
$(B)/core/metrics.o: CPPFLAGS += -DLATCH_VERSION='"$(VERSION)"'
$(B)/core/metrics.o: debian/changelog

# The numbered migrations are compiled into the programs, so an installed
# latchctl needs no path to find them.
# A renamed migration keeps its time, so the list of names is a
# prerequisite too: migrations.list changes whenever the list does.
$(B)/core/schema.c: $(MIGRATIONS) $(B)/core/migrations.list \
	tools/embed-sql.sh
	@mkdir -p $(dir $@)
	sh tools/embed-sql.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(B)/core/migrations.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(MIGRATIONS)' | cmp -s - $@ || echo '$(MIGRATIONS)' > $@

$(B)/core/schema.o: $(B)/core/schema.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The OpenAPI document is compiled in and served by GET /openapi.json.
$(B)/fcgi/openapi.c: docs/openapi.json tools/embed-file.sh
	@mkdir -p $(dir $@)
	sh tools/embed-file.sh openapi_json docs/openapi.json > $@.tmp && \
	    mv $@.tmp $@

$(B)/fcgi/openapi.o: $(B)/fcgi/openapi.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/latchd: $(B)/fcgi/latchd.o $(FCGI_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/latchctl: $(B)/tools/latchctl.o $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/latch-mailer: $(B)/tools/latch-mailer.o $(MAILER_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(MAILER_LIBS)

$(B)/tests/core/%.o: CFLAGS += -Itests/unit

$(B)/tests/core/%: $(B)/tests/core/%.o $(B)/tests/core/tcore.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: $(B)/tests/unit/%.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# test_smtp compiles core/smtp.c itself, to reach its static reply reader.
$(B)/tests/test_smtp: $(B)/tests/unit/test_smtp.o \
    $(filter-out $(B)/core/smtp.o,$(CORE_OBJ))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz/fuzz_route: $(B)/tests/fuzz/fuzz_route.o \
    $(B)/tests/fuzz/driver.o $(FCGI_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# fuzz_smtp compiles core/smtp.c itself, to reach its static reply reader.
$(B)/fuzz/fuzz_smtp: $(B)/tests/fuzz/fuzz_smtp.o $(B)/tests/fuzz/driver.o \
    $(filter-out $(B)/core/smtp.o,$(CORE_OBJ))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz/%: $(B)/tests/fuzz/%.o $(B)/tests/fuzz/driver.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# libFuzzer builds: clang, every source compiled again into build-fuzz/.
FUZZ_SECONDS ?= 60
FZ = build-fuzz
FUZZ_CC ?= clang
FUZZ_CFLAGS = -O1 -g -std=c11 -D_GNU_SOURCE -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined -MMD -MP -Icore -Ifcgi $(PKG_CFLAGS)
FZ_CORE := $(CORE_SRC:%.c=$(FZ)/%.o) $(FZ)/core/schema.o
FZ_FCGI := $(FCGI_SRC:%.c=$(FZ)/%.o)

$(FZ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FZ)/core/schema.o: $(B)/core/schema.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FZ)/fuzz_route: $(FZ)/tests/fuzz/fuzz_route.o $(FZ_FCGI) $(FZ_CORE)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

$(FZ)/fuzz_smtp: $(FZ)/tests/fuzz/fuzz_smtp.o \
    $(filter-out $(FZ)/core/smtp.o,$(FZ_CORE))
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

$(FZ)/fuzz_%: $(FZ)/tests/fuzz/fuzz_%.o $(FZ_CORE)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

# Keep the harness objects (intermediate files of the pattern rules).
.SECONDARY: $(CORE_TEST_SRC:%.c=$(B)/%.o) $(B)/tests/core/tcore.o \
	$(FUZZ_NAMES:%=$(FZ)/tests/fuzz/%.o) \
	$(FUZZ_NAMES:%=$(B)/tests/fuzz/%.o) $(B)/tests/fuzz/driver.o

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_NAMES:%=$(FZ)/%)
	@set -e; for n in $(FUZZ_NAMES); do \
		mkdir -p $(FZ)/corpus/$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
		ASAN_OPTIONS=detect_leaks=1 $(FZ)/$$n -max_total_time=$(FUZZ_SECONDS) \
		    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		    -artifact_prefix=$(FZ)/$$n- $(FZ)/corpus/$$n \
		    tests/fuzz/corpus/$$n 2>$(FZ)/$$n.log || \
		    { tail -n 60 $(FZ)/$$n.log; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|new_units_added)' \
		    $(FZ)/$$n.log | tr '\n' ' '; echo; \
	done

# The benchmark's own programs (not part of "all", so "make check" does
# not build them): the null FastCGI responder and the hash timer.
$(B)/bench/%.o: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/bench-null: $(B)/bench/null.o
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs fcgi 2>/dev/null)

$(B)/bench-hashtime: $(B)/bench/hashtime.o $(B)/core/pw.o $(B)/core/tok.o \
    $(B)/core/b64.o
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs openssl \
	    2>/dev/null) -lscrypt -lcrypt -largon2

# One access token signed and verified, HS256 against EdDSA.
$(B)/bench-jwttime: $(B)/bench/jwttime.o $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@sh tools/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@PORT=$(PORT) sh tools/run.sh

check: deps
	@$(MAKE) --no-print-directory all
	@/usr/bin/python3 tests/run.py

check-cluster: deps
	@$(MAKE) --no-print-directory all
	@/usr/bin/python3 tests/run.py --cluster

# BENCH_USERS=1000000 also measures a million users; BENCH_SECONDS per run.
bench: deps
	@$(MAKE) --no-print-directory all $(B)/bench-null $(B)/bench-hashtime \
	    $(B)/bench-jwttime
	@/usr/bin/python3 tests/bench/bench.py

# Each mutant: one bug planted, built into build-mutants/, the unit tests
# and the scenarios its entry names run against it, the source restored.
mutants: deps
	@/usr/bin/python3 tests/mutants.py $(MUTANTS)

# The config holds the machine's own signing key, so it is made on the
# target only: by "make install" without DESTDIR (never over an existing
# one), or by "latchctl init" when a package built from a staged tree is
# installed.  A config in the staged tree would give every machine that
# installs the package the same jwt_secret.
INSTALL_CONF = $(SYSCONFDIR)/latch/latch.ini
INSTALL_INIT = latchctl init $(INSTALL_CONF) \
	--from $(PREFIX)/share/latch/latch.ini.example \
	--set mail.template_dir=$(PREFIX)/share/latch/mail

install: $(PROGS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/latch/mail
	install -m 0755 $(B)/latchd $(DESTDIR)$(PREFIX)/sbin/latchd
	install -m 0755 $(B)/latch-mailer $(DESTDIR)$(PREFIX)/sbin/latch-mailer
	install -m 0644 conf/mail/*.txt $(DESTDIR)$(PREFIX)/share/latch/mail/
	install -m 0755 $(B)/latchctl $(DESTDIR)$(PREFIX)/bin/latchctl
	install -m 0644 conf/latch.ini.example $(DESTDIR)$(PREFIX)/share/latch/
	cp -R contrib $(DESTDIR)$(PREFIX)/share/latch/
	install -d $(DESTDIR)$(PREFIX)/share/latch/www/js
	install -m 0644 www/*.html www/*.css www/*.svg \
		$(DESTDIR)$(PREFIX)/share/latch/www/
	install -m 0644 www/js/*.js $(DESTDIR)$(PREFIX)/share/latch/www/js/
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 0644 docs/man/*.8 $(DESTDIR)$(MANDIR)/man8/
ifneq ($(DESTDIR),)
	@echo "install: staged in $(DESTDIR) without a config; on each machine" \
		"that installs it, run: $(INSTALL_INIT)"
else
	@if [ -e $(INSTALL_CONF) ]; then \
		echo "install: $(INSTALL_CONF) exists; left as it is"; \
	else \
		install -d -m 0755 $(SYSCONFDIR)/latch && \
		$(PREFIX)/bin/$(INSTALL_INIT); \
	fi
endif

# The Debian package: dpkg-buildpackage on a copy of the files git knows
# (tracked, or new and not ignored) in build/deb/latch-VERSION, so the
# tree stays clean; whatever this make was given (SANITIZE=1, a build
# directory) stays out of the package's build.
DEB_VERSION := $(VERSION)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB := build/deb/latch_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_SRC := $(filter-out build/% var/% tests/% .ci/%,$(wildcard $(shell git ls-files \
	--cached --others --exclude-standard 2>/dev/null)))

deb: deps
	@$(MAKE) --no-print-directory $(DEB)

$(DEB): $(DEB_SRC)
	rm -rf build/deb
	mkdir -p build/deb/latch-$(DEB_VERSION)
	@cp --parents -t build/deb/latch-$(DEB_VERSION) $(DEB_SRC)
	cd build/deb/latch-$(DEB_VERSION) && env -u MAKEFLAGS -u MFLAGS \
		-u MAKELEVEL -u SANITIZE -u LATCH_BUILD \
		DEB_BUILD_OPTIONS="nocheck parallel=2" \
		dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
		{ tail -n 40 ../build.log; exit 1; }
	lintian --fail-on error --display-info --pedantic \
		build/deb/latch_$(DEB_VERSION)_$(DEB_ARCH).changes \
		>build/deb/lintian.txt 2>&1 || \
		{ cat build/deb/lintian.txt; rm -f $@; exit 1; }
	@echo "deb: $@ (lintian: build/deb/lintian.txt)"

# The C sources as .clang-format lays them out, with Debian 12's
# clang-format: another version may lay the same code out otherwise.
CLANG_FORMAT ?= clang-format-14
FORMAT_SRC := $(sort $(wildcard core/*.[ch] fcgi/*.[ch] tools/*.c \
	tests/unit/*.[ch] tests/core/*.[ch] tests/fuzz/*.c tests/bench/*.c))

format:
	$(CLANG_FORMAT) -i $(FORMAT_SRC)

# Fails naming each file "make format" would change ("make check" runs it).
format-check:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "format-check:" \
		"$(CLANG_FORMAT) is missing (tools/deps.sh installs Debian 12's" \
		"clang-format, which brings it)"; \
		exit 1; }
	@bad=; for f in $(FORMAT_SRC); do \
		$(CLANG_FORMAT) "$$f" | cmp -s "$$f" - || bad="$$bad $$f"; \
	done; \
	[ -z "$$bad" ] || { echo "format-check: not as .clang-format lays" \
		"them out (make format):"; for f in $$bad; do \
		echo "  $$f"; done; exit 1; }

clean:
	rm -rf build build-asan build-fuzz build-mutants

.PHONY: all progs deps run check check-cluster bench fuzz mutants install deb \
	format format-check clean FORCE
FORCE:
# (build/fail2ban and build/prometheus, unpacked by tools/deps.sh, have
# directories named *.d)
-include $(shell find $(B) $(FZ) -path '*/fail2ban' -prune -o \
	-path '*/prometheus' -prune -o -name '*.d' -type f -print 2>/dev/null)
