# twitchd build. `make` builds build/twitchd and build/libtwitchdsp.a;
# `make test` also builds everything under ASan+UBSan into build/san/ and
# runs every test in both builds. See README.md.

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
B          ?= build
SAN        ?= 0

CC         ?= cc
PKG_CONFIG ?= pkg-config
PKGS       := sndfile jansson inih libzmq portaudio-2.0 libsystemd libmicrohttpd
DEB_PKGS   := build-essential pkg-config libliquid-dev libsndfile1-dev \
              libjansson-dev libinih-dev libcmocka-dev libzmq3-dev \
              portaudio19-dev libsystemd-dev libasound2-plugins \
              python3 python3-numpy flac libedf-dev python3-mne \
              libmicrohttpd-dev chromium chromium-driver python3-selenium \
              jackd2 jq

WARN       := -Wall -Wextra -Werror
CSTD       := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
# Link-time optimisation of the optimised build: the per-sample calls
# between dsp/ objects (condition, detectors, noise floors) are inlined
# across files (make bench: about 7 % faster). Fat objects keep the
# installed libtwitchdsp.a usable without LTO. `make LTO=` turns it off.
LTO        ?= -flto=auto -ffat-lto-objects
ifeq ($(SAN),1)
OPT        := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all
else
OPT        := -O2 -g $(LTO)
endif

# liquid-dsp ships no pkg-config file: look for its header and library.
HASH       := \#
LIQUID_OK  := $(shell printf '$(HASH)include <liquid/liquid.h>\nint main(void){return liquid_libversion_number()>0?0:1;}\n' \
                | $(CC) -x c - -o /dev/null -lliquid -lm 2>/dev/null && echo yes)
# EDFlib (libedf-dev) ships a static library and no pkg-config file either.
EDF_OK     := $(shell printf '$(HASH)include <edflib.h>\nint main(void){return edflib_version()>0?0:1;}\n' \
                | $(CC) -x c - -o /dev/null -ledf -lm 2>/dev/null && echo yes)
PKG_OK     := $(shell $(PKG_CONFIG) --exists $(PKGS) 2>/dev/null && echo yes)

CFLAGS_ALL  = $(CSTD) $(WARN) $(OPT) -DTW_VERSION='"$(VERSION)"' -DTW_INIH_VERSION='"$(shell $(PKG_CONFIG) --modversion inih 2>/dev/null)"' \
              -Idsp $(DAEMON_INC) $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) $(CFLAGS)
# libmicrohttpd, libsystemd, libzmq and PortAudio are compiled against but
# not linked: the web view, the systemd notifications, the sockets and the
# sound card load them when they need them (daemon/webview/web_http.c,
# daemon/base/notify.c, daemon/base/lazy_zmq.c and lazy_portaudio.c say why).
LAZY_PKGS   := libmicrohttpd libsystemd libzmq portaudio-2.0
LDLIBS_ALL  = $(shell $(PKG_CONFIG) --libs $(filter-out $(LAZY_PKGS),$(PKGS)) 2>/dev/null) \
              -lliquid -ledf -lm -lpthread -ldl $(LDLIBS)
LDFLAGS_ALL = $(OPT) $(LDFLAGS)

DSP_SRC    := $(wildcard dsp/*.c)
# daemon/ holds one folder per stage (docs/architecture.md); every folder
# is on the include path and every .c in it is built.
DAEMON_DIRS := $(sort $(dir $(wildcard daemon/*/*.c daemon/*/*.h)))
DAEMON_INC := $(patsubst %/,-I%,$(DAEMON_DIRS))
DAEMON_SRC := $(filter-out daemon/cmd/main.c,$(wildcard daemon/*/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
TOOL_SRC   := $(wildcard tests/tools/*.c)

DSP_OBJ    := $(DSP_SRC:%.c=$(B)/obj/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOL_BIN   := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
FUZZ_NAMES ?= config override control sndsrc journal dsp
FUZZ_REGRESS := $(FUZZ_NAMES:%=$(B)/fuzz/regress_%)

.PHONY: all check-deps deps test unit-bins demo bench eval install uninstall clean

all: check-deps $(B)/twitchd $(B)/libtwitchdsp.a

check-deps:
ifneq ($(LIQUID_OK),yes)
	@echo "error: liquid-dsp not found (<liquid/liquid.h> and -lliquid); run 'make deps' or install libliquid-dev" >&2; exit 1
endif
ifneq ($(EDF_OK),yes)
	@echo "error: EDFlib not found (<edflib.h> and -ledf); run 'make deps' or install libedf-dev" >&2; exit 1
endif
ifneq ($(PKG_OK),yes)
	@echo "error: pkg-config cannot find: $(PKGS); run 'make deps'" >&2; exit 1
endif

# Install the Debian packages that are missing (apt-get update first).
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "all Debian packages present"; fi

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(B)/libtwitchdsp.a: $(DSP_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/libtwitchd-daemon.a: $(DAEMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/twitchd: $(B)/obj/daemon/cmd/main.o $(B)/libtwitchd-daemon.a $(B)/libtwitchdsp.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(B)/tests/%: tests/unit/%.c $(B)/libtwitchd-daemon.a $(B)/libtwitchdsp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit $(shell $(PKG_CONFIG) --cflags cmocka) \
	  $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL) $(shell $(PKG_CONFIG) --libs cmocka) -ldl

$(B)/tools/%: tests/tools/%.c $(B)/libtwitchd-daemon.a $(B)/libtwitchdsp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

unit-bins: all $(UNIT_BIN) $(TOOL_BIN) $(FUZZ_REGRESS)

# Fuzzing (tests/fuzz/README.md). Each harness tests/fuzz/fuzz_NAME.c is
# built twice: with tests/fuzz/regress.c by $(CC) into
# $(B)/fuzz/regress_NAME (part of unit-bins; `make test` replays the seed
# corpus and every kept crash through it), and by `make fuzz` with clang's
# libFuzzer, ASan and UBSan into $(FUZZ_DIR)/bin/fuzz_NAME, over the daemon
# and dsp sources compiled by clang with coverage instrumentation into
# $(FUZZ_DIR)/lib. `make fuzz` runs each for FUZZ_SECONDS on a copy of its
# seed corpus, writes what it finds to $(FUZZ_DIR)/crashes/NAME/ and
# prints a table (tests/fuzz/run.sh). Needs clang and libclang-rt-14-dev
# (`make fuzz-deps`); `make test` does not.
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?=
FUZZ_CC      ?= clang
FUZZ_DIR     ?= build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_DEB     := clang libclang-rt-14-dev

.PHONY: fuzz fuzz-bins fuzz-deps

$(B)/fuzz/regress_%: tests/fuzz/fuzz_%.c tests/fuzz/regress.c tests/fuzz/fuzz_util.h \
                     $(B)/libtwitchd-daemon.a $(B)/libtwitchdsp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/fuzz $(LDFLAGS_ALL) -o $@ $(filter %.c %.a,$^) $(LDLIBS_ALL)

$(FUZZ_DIR)/bin/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h \
                        $(FUZZ_DIR)/lib/libtwitchd-daemon.a $(FUZZ_DIR)/lib/libtwitchdsp.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out $(LTO),$(CFLAGS_ALL)) -Itests/fuzz -fsanitize=fuzzer $(FUZZ_SAN) \
	  -o $@ $(filter %.c %.a,$^) $(LDLIBS_ALL)

fuzz-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(FUZZ_DEB)"

fuzz-bins: check-deps
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}\n' \
	  | $(FUZZ_CC) -fsanitize=fuzzer,address,undefined -x c - -o /dev/null 2>/dev/null || \
	  { echo "error: $(FUZZ_CC) with libFuzzer (-fsanitize=fuzzer) not found;" \
	         "run 'make fuzz-deps' (apt-get install $(FUZZ_DEB))" >&2; exit 1; }
	$(MAKE) B=$(FUZZ_DIR)/lib CC=$(FUZZ_CC) LTO= CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	  $(FUZZ_DIR)/lib/libtwitchd-daemon.a $(FUZZ_DIR)/lib/libtwitchdsp.a
	$(MAKE) $(FUZZ_NAMES:%=$(FUZZ_DIR)/bin/fuzz_%)

fuzz: fuzz-bins
	@tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) "$(FUZZ_FLAGS)" $(FUZZ_NAMES)

# Every test, in the optimised build and under ASan+UBSan.
# Each build with NPROC jobs (the machine's cores).
NPROC      ?= $(shell nproc 2>/dev/null || echo 2)
test: deps
	$(MAKE) -j$(NPROC) unit-bins
	$(MAKE) -j$(NPROC) B=build/san SAN=1 unit-bins
	@tests/run.sh build build/san

# The live daemon on its synthetic source, paced at real time, with the
# reference subscriber printing events as they happen (Ctrl-C stops both).
# Journal under build/demo-journal; publishing on a private port.
DEMO_PORT ?= 5599
demo: deps
	$(MAKE) all
	@mkdir -p $(B)/demo-journal
	@echo "demo: twitchd run on the synthetic source; events below as they happen (Ctrl-C to stop)"
	@echo "demo: in another terminal: $(B)/twitchd ctl -e ipc://$(abspath $(B))/demo-control session.start subject=S01"
	@trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null' EXIT INT TERM; \
	$(B)/twitchd run -o input.source=synth -o input.pace=realtime \
	  -o synth.ltr_per_min=6 -o synth.epn_per_min=3 \
	  -o journal.dir=$(B)/demo-journal -o publish.endpoint=tcp://127.0.0.1:$(DEMO_PORT) \
	  -o control.endpoint=ipc://$(abspath $(B))/demo-control -o record.dir=$(B)/demo-recordings & pid=$$!; \
	sleep 0.5; $(B)/twitchd sub tcp://127.0.0.1:$(DEMO_PORT) evt. gap

# Speed and memory of the pipeline (one run, ratios), then live latency
# and CPU of the daemon.
bench: deps
	$(MAKE) all $(B)/tools/bench
	@$(B)/tools/bench $(B)/twitchd
	@python3 tests/tools/bench_live.py $(B)/twitchd

# Detection accuracy on the seeded synthetic suite (report seeds; tune
# seeds with EVAL_ARGS=--set tune), and the real recordings.
EVAL_ARGS ?=
eval: deps
	$(MAKE) all
	python3 tests/eval/eval.py --twitchd $(B)/twitchd $(EVAL_ARGS)

# Install layout; every directory can be set on the command line. The
# configuration goes to /etc when PREFIX is /usr or /usr/local (where
# twitchd looks without -c), else to $(PREFIX)/etc. An edited
# configuration is never overwritten: the new default then goes beside it
# as twitchd.conf.dist, and uninstall keeps it. The unit is written with
# BINDIR and SYSCONFDIR in place of the /usr/bin and /etc of
# systemd/twitchd.service; twitchd.conf(5) is generated from the binary
# being installed (tests/tools/mkconfman.sh).
BINDIR      ?= $(PREFIX)/bin
SYSCONFDIR  ?= $(if $(filter /usr /usr/local,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
MANDIR      ?= $(PREFIX)/share/man
INST_CONF    = $(DESTDIR)$(SYSCONFDIR)/twitchd/twitchd.conf

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/twitchd
	install -m 0755 $(B)/twitchd $(DESTDIR)$(BINDIR)/twitchd
	install -m 0644 $(B)/libtwitchdsp.a $(DESTDIR)$(PREFIX)/lib/libtwitchdsp.a
	install -m 0644 dsp/*.h $(DESTDIR)$(PREFIX)/include/twitchd/
	install -d $(DESTDIR)$(PREFIX)/share/doc/twitchd
	install -m 0644 README.md docs/*.md config/twitchd.conf $(DESTDIR)$(PREFIX)/share/doc/twitchd/
	install -d $(DESTDIR)$(PREFIX)/share/twitchd/web
	install -m 0644 web/index.html web/app.js web/style.css $(DESTDIR)$(PREFIX)/share/twitchd/web/
	install -d $(DESTDIR)$(SYSCONFDIR)/twitchd
	@if [ ! -e "$(INST_CONF)" ]; then \
	  echo "install -m 0644 config/twitchd.conf $(INST_CONF)"; \
	  install -m 0644 config/twitchd.conf "$(INST_CONF)"; \
	elif cmp -s config/twitchd.conf "$(INST_CONF)"; then \
	  echo "install: $(INST_CONF) is the default already"; \
	else \
	  install -m 0644 config/twitchd.conf "$(INST_CONF).dist"; \
	  echo "install: $(INST_CONF) differs from the default (edited): kept it;" \
	       "the new default configuration is $(INST_CONF).dist"; \
	fi
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	sed -e 's|/usr/bin/twitchd|$(BINDIR)/twitchd|g' -e 's|/etc/twitchd/|$(SYSCONFDIR)/twitchd/|g' \
	  systemd/twitchd.service > $(DESTDIR)$(UNITDIR)/twitchd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/twitchd.service
	install -m 0644 systemd/twitchd.sysusers $(DESTDIR)$(SYSUSERSDIR)/twitchd.conf
	install -m 0644 systemd/twitchd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/twitchd.conf
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 docs/man/twitchd.8 $(DESTDIR)$(MANDIR)/man8/twitchd.8
	sh tests/tools/mkconfman.sh $(B)/twitchd > $(DESTDIR)$(MANDIR)/man5/twitchd.conf.5
	chmod 0644 $(DESTDIR)$(MANDIR)/man5/twitchd.conf.5

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/twitchd $(DESTDIR)$(PREFIX)/lib/libtwitchdsp.a
	rm -rf $(DESTDIR)$(PREFIX)/include/twitchd $(DESTDIR)$(PREFIX)/share/doc/twitchd \
	  $(DESTDIR)$(PREFIX)/share/twitchd
	rm -f $(DESTDIR)$(UNITDIR)/twitchd.service $(DESTDIR)$(SYSUSERSDIR)/twitchd.conf \
	  $(DESTDIR)$(TMPFILESDIR)/twitchd.conf $(DESTDIR)$(MANDIR)/man8/twitchd.8 \
	  $(DESTDIR)$(MANDIR)/man5/twitchd.conf.5 "$(INST_CONF).dist"
	@if [ -e "$(INST_CONF)" ] && ! cmp -s config/twitchd.conf "$(INST_CONF)"; then \
	  echo "uninstall: kept $(INST_CONF): it differs from the default (edited)"; \
	else \
	  echo "rm -f $(INST_CONF)"; rm -f "$(INST_CONF)"; \
	  rmdir "$(DESTDIR)$(SYSCONFDIR)/twitchd" 2>/dev/null || true; \
	fi

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# Soak tests, not part of `make test` (about 13 minutes): tests/soak/live96k.sh
# (8 channels at 96 kHz through PortAudio, the ALSA file plugin and a JACK
# dummy server at real time for SOAK_MINUTES: no drop, CPU, RSS) and
# tests/soak/replay_hour.sh (one hour of input through `twitchd run` as fast
# as it goes: RSS constant). Each ends with a one-line summary.
SOAK_MINUTES ?= 10
.PHONY: soak
soak: deps
	$(MAKE) all
	tests/soak/live96k.sh $(B) $(SOAK_MINUTES)
	tests/soak/replay_hour.sh $(B)
