# latch: authentication service as pre-forked FastCGI workers.
#
#   make          build the programs into build/
#   make run      install missing packages, build, run MariaDB + latchd +
#                 lighttpd in the foreground (API on http://127.0.0.1:$(PORT)/api)
#   make check    install missing packages, build, run every test
#   make bench    install missing packages, build, measure latch against a
#                 null FastCGI responder (a few minutes; build/bench.md)
#   make install  install binaries, schema and example config (never
#                 overwrites an existing config)

PREFIX ?= /usr/local
DESTDIR ?=
PORT ?= 8080
SANITIZE ?=

CC ?= cc
PKGS = json-c libmariadb openssl fcgi inih
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
LDLIBS = $(PKG_LIBS) -lscrypt

ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-U_FORTIFY_SOURCE
LDFLAGS += -fsanitize=address,undefined
endif

B = build
CORE_SRC := $(sort $(wildcard core/*.c))
FCGI_SRC := $(sort $(filter-out fcgi/latchd.c,$(wildcard fcgi/*.c)))
CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o) $(B)/core/schema.o
FCGI_OBJ := $(FCGI_SRC:%.c=$(B)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
MIGRATIONS := $(sort $(wildcard sql/[0-9]*.sql))

PROGS = $(B)/latchd $(B)/latchctl $(B)/latch-mailer

all: $(PROGS) $(UNIT_BIN)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The numbered migrations are compiled into the programs, so an installed
# latchctl needs no path to find them.
$(B)/core/schema.c: $(MIGRATIONS) tools/embed-sql.sh
	@mkdir -p $(dir $@)
	sh tools/embed-sql.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(B)/core/schema.o: $(B)/core/schema.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/latchd: $(B)/fcgi/latchd.o $(FCGI_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/latchctl: $(B)/tools/latchctl.o $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/latch-mailer: $(B)/tools/latch-mailer.o $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: $(B)/tests/unit/%.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The benchmark's own programs (not part of "all", so "make check" does
# not build them): the null FastCGI responder and the hash timer.
$(B)/bench/%.o: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/bench-null: $(B)/bench/null.o
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs fcgi 2>/dev/null)

$(B)/bench-hashtime: $(B)/bench/hashtime.o $(B)/core/pw.o
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs openssl \
	    2>/dev/null) -lscrypt

deps:
	@sh tools/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@PORT=$(PORT) sh tools/run.sh

check: deps
	@$(MAKE) --no-print-directory all
	@/usr/bin/python3 tests/run.py

# BENCH_USERS=1000000 also measures a million users; BENCH_SECONDS per run.
bench: deps
	@$(MAKE) --no-print-directory all $(B)/bench-null $(B)/bench-hashtime
	@/usr/bin/python3 tests/bench/bench.py

install: $(PROGS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/latch/mail $(DESTDIR)/etc/latch
	install -m 0755 $(B)/latchd $(DESTDIR)$(PREFIX)/sbin/latchd
	install -m 0755 $(B)/latch-mailer $(DESTDIR)$(PREFIX)/sbin/latch-mailer
	install -m 0644 conf/mail/*.txt $(DESTDIR)$(PREFIX)/share/latch/mail/
	install -m 0755 $(B)/latchctl $(DESTDIR)$(PREFIX)/bin/latchctl
	install -m 0644 conf/latch.ini.example $(DESTDIR)$(PREFIX)/share/latch/
	cp -R contrib $(DESTDIR)$(PREFIX)/share/latch/
	[ -e $(DESTDIR)/etc/latch/latch.ini ] || \
		install -m 0600 conf/latch.ini.example $(DESTDIR)/etc/latch/latch.ini

format:
	clang-format -i core/*.[ch] fcgi/*.[ch] tools/*.c tests/unit/*.[ch]

clean:
	rm -rf $(B)

.PHONY: all deps run check bench install format clean
-include $(shell find $(B) -name '*.d' 2>/dev/null)
