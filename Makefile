# scalewise — build, test, run, bench.
# `make run` and `make test` install the Debian packages they need (scripts/deps.sh).

CC      ?= gcc
PKGS    := libmicrohttpd libcurl libcjson yaml-0.1 openssl gnutls hiredis libpq
# linked; libcurl, hiredis, libpq and libcrypto are dlopened when a source first needs
# them (scalers/dynlib.h), by the SONAME of the library the headers belong to
LINKPKGS := libmicrohttpd libcjson yaml-0.1 gnutls
soname = $(shell objdump -p $$($(CC) -print-file-name=$(1)) 2>/dev/null | awk '/SONAME/ {print $$2}')
sodef = $(if $(2),-D$(1)='"$(2)"')
SONAMES := $(call sodef,SW_SONAME_CURL,$(call soname,libcurl.so)) \
           $(call sodef,SW_SONAME_PQ,$(call soname,libpq.so)) \
           $(call sodef,SW_SONAME_HIREDIS,$(call soname,libhiredis.so)) \
           $(call sodef,SW_SONAME_CRYPTO,$(call soname,libcrypto.so))
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
BASEFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -I. -Iapi -Iadapter -Iscalers \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -DSW_VERSION='"$(VERSION)"' $(SONAMES)
CFLAGS  ?= -O2 -g
LDLIBS  := $(shell pkg-config --libs $(LINKPKGS) 2>/dev/null) -ldl -lm -lpthread
# the unit tests make certificates with OpenSSL themselves
TESTLIBS := $(shell pkg-config --libs libcrypto 2>/dev/null) -lcmocka
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC  := $(sort $(wildcard api/*.c adapter/*.c scalers/*.c))
LIB_SRC  := $(filter-out adapter/main.c,$(LIB_SRC))
CONF_SRC := $(sort $(wildcard tests/conformance/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNITS    := $(patsubst tests/unit/%.c,%,$(UNIT_SRC))

B  := build
BA := build/asan

.PHONY: all deps test-deps unit unit-asan conformance integration e2e test run bench clean fuzz
all: deps $(B)/scalewise $(B)/conformance $(B)/plugins/example.so

deps:
	@scripts/deps.sh build
test-deps:
	@scripts/deps.sh test

# --- objects -------------------------------------------------------------
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
$(BA)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) -MMD -MP -c $< -o $@

$(B)/libsw.a: $(patsubst %.c,$(B)/obj/%.o,$(LIB_SRC))
	@rm -f $@; ar rcs $@ $^
$(BA)/libsw.a: $(patsubst %.c,$(BA)/obj/%.o,$(LIB_SRC))
	@rm -f $@; ar rcs $@ $^

$(B)/scalewise: $(B)/obj/adapter/main.o $(B)/libsw.a
	$(CC) $(CFLAGS) -rdynamic -o $@ $^ $(LDLIBS)
$(BA)/scalewise: $(BA)/obj/adapter/main.o $(BA)/libsw.a
	$(CC) $(SANFLAGS) -rdynamic -o $@ $^ $(LDLIBS)

$(B)/conformance: $(patsubst %.c,$(B)/obj/%.o,$(CONF_SRC)) $(B)/libsw.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BA)/conformance: $(patsubst %.c,$(BA)/obj/%.o,$(CONF_SRC)) $(BA)/libsw.a
	$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# unit tests: one binary per tests/unit/test_*.c, linked with cmocka
$(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/libsw.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(TESTLIBS)
$(BA)/tests/%: $(BA)/obj/tests/unit/%.o $(BA)/libsw.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS) $(TESTLIBS)

# plugins (shared objects loaded with dlopen)
$(B)/plugins/%.so: scalers/plugins/%/*.c scalers/scaler.h
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -fPIC -shared -o $@ $(filter %.c,$^)
TEST_PLUGINS := $(B)/plugins/example.so $(B)/plugins/badabi.so $(B)/plugins/nosym.so
# order-only, so the .so files are not put on the test's link line
$(B)/tests/test_plugin $(BA)/tests/test_plugin: | $(TEST_PLUGINS)

# --- tests -----------------------------------------------------------------
TESTDATA ?= $(firstword $(wildcard ../shared/testdata shared/testdata))
export SW_TESTDATA := $(abspath $(TESTDATA))
export ASAN_OPTIONS := detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1

unit: test-deps $(addprefix $(B)/tests/,$(UNITS))
	@scripts/run-units.sh $(B)/tests $(UNITS)
unit-asan: test-deps $(addprefix $(BA)/tests/,$(UNITS))
	@LABEL=unit-asan scripts/run-units.sh $(BA)/tests $(UNITS)
conformance: $(B)/conformance $(BA)/conformance
	$(BA)/conformance $(wildcard $(TESTDATA)/*_vectors_public.json)
e2e: test-deps $(B)/scalewise $(BA)/scalewise $(TEST_PLUGINS)
	@scripts/run-e2e.sh $(BA)/scalewise
# scalers against their real servers, driven by the sanitizer build of their unit-test binaries
INTEGRATION := prometheus:test_prometheus redis:test_redis postgresql:test_postgresql rabbitmq:test_rabbitmq \
	nats:test_nats_jetstream metrics_api:test_metrics_api
integration: test-deps $(BA)/scalewise $(addprefix $(BA)/tests/,$(foreach i,$(INTEGRATION),$(lastword $(subst :, ,$(i)))))
	@SCALEWISE=$(BA)/scalewise scripts/run-integration.sh $(BA)/tests $(INTEGRATION)

test: test-deps all unit unit-asan conformance integration e2e
	@echo "make test: all suites passed"

run: deps $(B)/scalewise
	$(B)/scalewise serve --config examples/demo.yaml --secure-port $${PORT:-6443} --cert-dir $${CERT_DIR:-$(B)/certs}

bench: all
	@scripts/deps.sh bench
	@tests/bench/run.sh
	@sh tests/bench/auth.sh
	@sh tests/bench/poller.sh
	@sh tests/bench/scalers.sh
	@sh tests/bench/simulate.sh

# fuzz targets (libFuzzer, clang): `make fuzz` builds them, scripts/fuzz.sh runs each a while
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB_SRC := $(filter-out adapter/main.c,$(sort $(wildcard api/*.c adapter/*.c scalers/*.c)))
fuzz:
	@scripts/deps.sh fuzz
	@mkdir -p $(B)/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); echo "  FUZZ $$n"; \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iapi -Iadapter -Iscalers \
	    $$(pkg-config --cflags $(PKGS)) -DSW_VERSION='"fuzz"' $(SONAMES) -o $(B)/fuzz/$$n $$f $(FUZZ_LIB_SRC) $(LDLIBS) || exit 1; done

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
