# GridTokenX meter minting: ingestd + mintd around PostgreSQL, Redis and Solana.
#
#   make            release build into build/rel/
#   make SAN=1      ASan+UBSan build into build/san/ (what the tests use)
#   make check      install deps, build (sanitized, -Werror), run unit + integration tests
#   make run        bring the whole system up locally and show it working
#   make bench      run test/bench/* and print their figures
#   make install    PREFIX=/usr/local DESTDIR=

VERSION  := 0.1.0
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
SHAREDIR ?= $(PREFIX)/share/gridtokenx
SYSCONFDIR ?= /etc/gridtokenx
UNITDIR  ?= $(PREFIX)/lib/systemd/system
DOCDIR   ?= $(PREFIX)/share/doc/gridtokenx

PKGS := libpq hiredis libcurl libcjson libsodium libevent libevent_pthreads libcrypto
CC   ?= cc

ifeq ($(SAN),1)
O        := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      := -O1 -g
else
O        := build/rel
SANFLAGS :=
OPT      := -O2 -g
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wformat-security -Wpointer-arith -Wcast-qual -Wwrite-strings -Wvla \
        -Wnull-dereference -Wimplicit-fallthrough -Wundef -Wold-style-definition \
        -Wno-format-zero-length
ifeq ($(WERROR),1)
WARN += -Werror
endif

CPPFLAGS += -D_GNU_SOURCE -DGTX_VERSION='"$(VERSION)"' -DGTX_SHAREDIR='"$(SHAREDIR)"' -Icommon \
            $(shell pkg-config --cflags $(PKGS))
CFLAGS   ?= $(OPT)
CFLAGS   += -std=c11 -pipe -fstack-protector-strong -fPIE $(WARN) $(SANFLAGS)
LDFLAGS  += -pie $(SANFLAGS)
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lm

COMMON_SRC  := $(sort $(wildcard common/*.c))
INGESTD_SRC := $(sort $(wildcard ingestd/*.c))
# ingestd-ws, the WebSocket service process: its own files, and from ingestd's library what they use (the key
# table, the async PostgreSQL pool, the HTTP head parser, admin tokens).
WS_SRC      := $(sort $(wildcard ingestd/ws/*.c))
MINTD_SRC   := $(sort $(wildcard mintd/*.c))
UNIT_SRC    := $(sort $(wildcard test/unit/*.c))
TOOL_SRC    := $(sort $(wildcard test/tools/*.c))

COMMON_OBJ  := $(COMMON_SRC:%.c=$(O)/obj/%.o)
INGESTD_OBJ := $(INGESTD_SRC:%.c=$(O)/obj/%.o)
WS_OBJ      := $(WS_SRC:%.c=$(O)/obj/%.o)
MINTD_OBJ   := $(MINTD_SRC:%.c=$(O)/obj/%.o)
UNIT_OBJ    := $(UNIT_SRC:%.c=$(O)/obj/%.o)
TOOLS       := $(TOOL_SRC:test/tools/%.c=$(O)/%)

LIBCOMMON := $(O)/libcommon.a
# Each daemon's modules but its main, as a library: the daemon links its main with it, and the unit tests
# link the modules they test from it (nothing is compiled twice, nothing duplicated into test/).
LIBINGESTD := $(O)/libingestd.a
LIBMINTD   := $(O)/libmintd.a
LIBWS      := $(O)/libingestd-ws.a
BINS      := $(O)/ingestd $(O)/ingestd-ws $(O)/mintd

.PHONY: all check unit integration depcheck run bench install deps clean examples
all: $(BINS) $(TOOLS) $(O)/unit-tests

# The installation paths compiled into the binaries (SQL_DIR's default): a change of PREFIX or SHAREDIR
# rebuilds what uses them, so that `make install PREFIX=...` after a plain `make` installs consistent binaries.
PATHS_STAMP := $(O)/paths
$(shell mkdir -p $(O) && { echo '$(SHAREDIR)' | cmp -s - $(PATHS_STAMP) || echo '$(SHAREDIR)' >$(PATHS_STAMP); })

$(O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/obj/common/keys.o $(O)/obj/ingestd/conf.o $(O)/obj/mintd/conf.o: $(PATHS_STAMP)

$(LIBCOMMON): $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBINGESTD): $(filter-out %/main.o,$(INGESTD_OBJ))
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBMINTD): $(filter-out %/main.o,$(MINTD_OBJ))
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBWS): $(filter-out %/main.o,$(WS_OBJ))
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/ingestd: $(O)/obj/ingestd/main.o $(LIBINGESTD) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/obj/ingestd/ws/%.o: CPPFLAGS += -Iingestd
$(O)/ingestd-ws: $(O)/obj/ingestd/ws/main.o $(LIBWS) $(LIBINGESTD) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/mintd: $(O)/obj/mintd/main.o $(LIBMINTD) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The daemons' parsers and pure logic are unit-tested too (test/unit/test_<module>.c includes the daemon's
# header by its directory: "ingestd/jparse.h", "mintd/plan.h"). GTX_SRCDIR: where tests read sql/ from.
$(O)/obj/test/unit/%.o: CPPFLAGS += -I. -Iingestd -DGTX_SRCDIR='"$(CURDIR)"'
$(O)/unit-tests: $(UNIT_OBJ) $(LIBMINTD) $(LIBWS) $(LIBINGESTD) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/%: $(O)/obj/test/tools/%.o $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find build -name '*.d' 2>/dev/null)

deps:
	@test/deps

# The tests use the sanitizer build with warnings as errors; the hostile-client tests
# (test/integration/hostile_*.test.mjs) run the release build, as production does.
check: deps
	$(MAKE) SAN=1 WERROR=1 all
	$(MAKE) WERROR=1 all
	$(MAKE) SAN=1 depcheck unit integration

# Dependencies run one way: no include or call cycle between modules, common/ under the daemons.
depcheck: $(BINS)
	test/depcheck $(O)/obj $(CPPFLAGS)

unit: $(O)/unit-tests
	$(O)/unit-tests

integration:
	GTX_BIN=$(CURDIR)/$(O) GTX_REL_BIN=$(CURDIR)/build/rel test/integration/run

run: deps
	$(MAKE) all
	GTX_BIN=$(CURDIR)/$(O) test/run-demo

bench: deps
	$(MAKE) all
	GTX_BIN=$(CURDIR)/$(O) test/bench/run

# The units and the example configurations name the default paths; they are installed with the ones chosen.
INSTALL_PATHS := sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/usr/local/share/gridtokenx|$(SHAREDIR)|g' \
                     -e 's|/usr/local/share/doc/gridtokenx|$(DOCDIR)|g' -e 's|/etc/gridtokenx|$(SYSCONFDIR)|g'
install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/sql $(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 0644 sql/*.sql $(DESTDIR)$(SHAREDIR)/sql/
	install -m 0644 etc/db-roles.sql $(DESTDIR)$(SYSCONFDIR)/
	install -m 0644 README.md docs/*.md docs/*.yaml $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(SHAREDIR)/prometheus
	install -m 0644 etc/prometheus/gridtokenx.rules.yml $(DESTDIR)$(SHAREDIR)/prometheus/
	for f in etc/*.conf.example systemd/*.service systemd/*.target; do \
		case $$f in etc/*) d=$(DESTDIR)$(SYSCONFDIR) ;; *) d=$(DESTDIR)$(UNITDIR) ;; esac; \
		$(INSTALL_PATHS) $$f >$$d/$${f##*/}.tmp && chmod 0644 $$d/$${f##*/}.tmp && mv $$d/$${f##*/}.tmp $$d/$${f##*/} || exit 1; \
	done

# etc/*.conf.example are generated from the daemons' key tables (a test checks they match).
examples: $(BINS)
	$(O)/ingestd -E >etc/ingestd.conf.example
	$(O)/mintd -E >etc/mintd.conf.example

clean:
	rm -rf build
