# Makefile — compiles DoSQL. build.sh fetches and checks what this reads (deps/, pinned by
# sha256), sets up the toolchain, then runs `make -j` with the toolchain as variables; run
# it directly once ./build.sh deps has run.
#
#   make wasm        worker-shim/dist/dosql.wasm, linked as wasm/link.flags and wasm/exports.txt say
#   make native      under ASan+UBSan: one binary per tests/c/test_*.c, libdosql.a (the engine,
#                    for fuzzers and benchmarks), and a sqlite3 CLI for tests that inspect files
#   make fuzz        the libFuzzer targets tests/faults/fuzz/fuzz_*.c
#   make speedtest   SQLite's speedtest1 natively and as wasm variants (tests/bench/speedtest1/)
#   make clean       remove wasm/build/ and worker-shim/dist/ (deps/ stays)
#
# The toolchain (build.sh passes it; the defaults are Debian's packages):
#   WASM_CC    the wasm32-wasi compiler; for a wasi-sdk "$WASI_SDK_PATH/bin/clang --sysroot=..."
#   NATIVE_CC  the native compiler (CC, else cc)
#   FUZZ_CC    a clang with libFuzzer (Debian's libclang-rt-14-dev holds clang-14's)
#   WASM_OPT, WASM_OBJDUMP  binaryen's wasm-opt, wabt's wasm-objdump
# V=1 prints every command. SPEEDTEST_WASM_VARIANTS adds speedtest1 variants (see below).
#
# An output is remade when a file it was made from is newer (headers included, from the
# compiler's -MMD depfiles) or when the command that makes it changed (a flag, a compiler:
# see "Commands as prerequisites"), and only then: on an unchanged tree make runs nothing.
# Objects are named after their source's file name, in one folder per build:
#   wasm/build/obj/             dosql.wasm's           wasm/build/native/obj/  the sanitizer build's
#   wasm/build/fuzz/obj/        the fuzz targets'      wasm/build/speedtest/   speedtest1's
# tests/run.sh finds the binaries there: the two lists must match.

MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
# A failed compile or link leaves no output that looks current.
.DELETE_ON_ERROR:
.DEFAULT_GOAL := all

# ---- Toolchain --------------------------------------------------------------------------
# Debian's clang finds wasi-libc under /usr/{include,lib}/wasm32-wasi.
WASM_CC   ?= clang
NATIVE_CC ?= $(CC)
FUZZ_CC   ?= clang-14
WASM_OPT  ?= wasm-opt
WASM_OBJDUMP ?= wasm-objdump

# ---- Layout -----------------------------------------------------------------------------
BUILD      := wasm/build
DIST       := worker-shim/dist
WASM_OBJ   := $(BUILD)/obj
NATIVE     := $(BUILD)/native
NATIVE_OBJ := $(NATIVE)/obj
FUZZ       := $(BUILD)/fuzz
SPEEDTEST  := $(BUILD)/speedtest
COMMANDS   := $(BUILD)/commands

# Our translation units: every src/*.c, sorted, so builds are reproducible.
SRCS := $(sort $(wildcard src/*.c))
# SQLite's translation unit: the amalgamation, included by the one file of ours that needs
# its internals (src/sqlite/unit.c meters built-in SQL functions), compiled as third-party
# code. Every build of the engine (wasm, native tests, fuzzers, speedtest) compiles it.
SQLITE_UNIT := src/sqlite/unit.c
# SQLite's internal functions unit.c meters at every call (a number parsed from a text
# scans all of it inside one VM step; a sort or an index's search compares its records
# many times inside one; geopoly's overlap sweeps edges against edges), or takes its value
# from our own code (a decimal scaled by a power of ten, correctly rounded: decimal.h):
# unit.c includes a copy of the amalgamation in which each one's definition is renamed
# NAMEOriginal (src/sqlite/interpose.sh), and defines NAME.
SQLITE_INTERPOSED := sqlite3AtoF sqlite3Atoi64 vdbeSorterGetCompare sqlite3VdbeFindCompare geopolyOverlap \
                     sqlite3Fp10Convert2
SQLITE_COPY       := $(BUILD)/sqlite/sqlite3-interposed.c
CJSON       := deps/cjson/cJSON.c
# The native host (pages in memory) every native build of the engine runs over.
HOST_MEM    := tests/c/host_mem.c
C_TESTS     := $(sort $(wildcard tests/c/test_*.c))
FUZZ_DIR    := tests/faults/fuzz
FUZZ_TARGETS := $(sort $(basename $(notdir $(wildcard $(FUZZ_DIR)/fuzz_*.c))))

# engine_objs DIR: the engine's objects in DIR, in link order (SQLite first: the longest
# compile starts first under -j).
engine_objs = $(addprefix $1/,sqlite3.o cJSON.o $(notdir $(SRCS:.c=.o)))

# ---- Compiler flags ---------------------------------------------------------------------
# Shared by every translation unit, wasm and native: the one SQLite options header is
# force-included so sqlite3.c, cJSON.c and our code agree on every SQLITE_* option.
INCLUDES := -include src/sqlite_options.h -Ideps/sqlite -Ideps/cjson -Isrc
# Our own code must be warning-free; third-party code is compiled as it is.
OUR_WARNINGS := -Wall -Wextra -Werror

# Size-optimised release. -mexec-model=reactor is a link flag (wasm/link.flags): at compile
# time clang warns it is unused, which -Werror would turn into an error.
# Bulk memory (workerd's V8 has it): memcpy, memmove and memset of a size known only at run
# time become memory.copy/memory.fill instead of calls to wasi-libc's byte-wise loops, which
# were 10% of speedtest1 (issue 17; tests/bench/speedtest1/README.md has the measurements).
# wasm-opt must be told, or it rejects those instructions. It must also be told that an
# exported global may be mutable (the stack pointer: wasm/link.flags).
WASM_FEATURES     := -mbulk-memory
WASM_OPT_FEATURES := --enable-bulk-memory --enable-mutable-globals
# dosql.wasm sets the library up when it is instantiated (src/api.c), so the host's spare
# instance has it done ahead of need; speedtest1's command build (below) does not.
WASM_CFLAGS := --target=wasm32-wasi $(WASM_FEATURES) -DNDEBUG -DDOSQL_INIT_AT_INSTANTIATION $(INCLUDES)
# clang's level for dosql.wasm: -Oz, but with LLVM's inliner taking a call whose inlined
# cost is up to 50, -Os's limit, where -Oz alone takes almost none (5; an explicit
# -inline-threshold replaces -Oz's limit). -Oz then keeps SQLite's small hot helpers
# (sqlite3VdbeMemRelease, sqlite3Get4byte...) as calls, and clang -Os, which inlines them,
# shapes loops worse (tests/bench/speedtest1/README.md). Against plain -Oz, one run each:
# speedtest1 1.84 -> 1.71 and 1.87 -> 1.71 times native; a scan with length() over 100,000
# rows 15.7 -> 13.6 ms in Node, 1.12 -> 1.04 times native in workerd (the bench's GROUP BY
# faster in Node, unchanged in workerd); 5% larger gzipped. A threshold of 30 was slower, 80
# slower still (and 11% larger).
WASM_SIZE_LEVEL := -Oz -mllvm -inline-threshold=50
# wasm-opt after linking: -Oz. -O2/-O3 (and clang -O2, 70% larger) were not measurably
# faster in a Node benchmark of inserts, scans and point queries, nor on speedtest1 with
# bulk memory, so size wins.
WASM_OPT_FLAGS := -Oz $(WASM_OPT_FEATURES)
# wasm/link.flags, one flag per line, '#' lines and blank lines dropped; then one
# -Wl,--export=NAME per line of wasm/exports.txt: the module exports that list and memory.
# Not -O at link time: clang would then run wasm-opt itself; it runs once, after.
hash  := \#
comma := ,
WASM_LINK_FLAGS := $(shell grep -v -E '^[[:space:]]*($(hash)|$$)' wasm/link.flags)
WASM_LDFLAGS := --target=wasm32-wasi $(WASM_LINK_FLAGS) \
                $(addprefix -Wl$(comma)--export=,$(shell cat wasm/exports.txt))

# Debug build under AddressSanitizer and UndefinedBehaviorSanitizer; any report is fatal.
NATIVE_CFLAGS  := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                  -fno-sanitize-recover=all $(INCLUDES)
NATIVE_LDFLAGS := -g -fsanitize=address,undefined -lm
# The sqlite3 shell for tests that inspect database files: SQLite's defaults (not our
# options header, which has no OS layer) plus the extensions our databases may contain.
CLI_CFLAGS := -O1 -DSQLITE_THREADSAFE=0 -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_RTREE \
              -DSQLITE_ENABLE_GEOPOLY -DSQLITE_ENABLE_MATH_FUNCTIONS -DSQLITE_ENABLE_DBSTAT_VTAB
CLI_LDFLAGS := -ldl -lm

# libFuzzer's coverage with ASan+UBSan: a crash, a leak, undefined behaviour or a failed
# check is a finding.
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=all $(INCLUDES) -Itests/c -I$(FUZZ_DIR)
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined -lm

# speedtest1's native side is a speed build: -O2 and no sanitizers, our options header as
# always. Its wasm side is a WASI command (main, printf): dosql.wasm's link flags less the
# reactor model and the exports. Only this benchmark imports wasi_snapshot_preview1.
SPEEDTEST_NATIVE_CFLAGS  := -O2 -DNDEBUG $(INCLUDES)
SPEEDTEST_NATIVE_LDFLAGS := -lm
SPEEDTEST_WASM_LDFLAGS   := --target=wasm32-wasi $(filter-out -mexec-model=%,$(WASM_LINK_FLAGS))
# Wasm variants, "NAME|CLANG FLAGS|WASM-OPT FLAGS", ';' between them (no field empty): the
# clang flags take the place of WASM_SIZE_LEVEL, after the features (so -mno-bulk-memory
# turns one off). "oz" is built at dosql.wasm's levels. SPEEDTEST_WASM_VARIANTS adds more
# for one run, e.g. "simd|-O2 -msimd128|-O2 --enable-bulk-memory --enable-simd".
SPEEDTEST_WASM_DEFAULT := oz|$(WASM_SIZE_LEVEL)|$(WASM_OPT_FLAGS);o2|-O2|-O2 $(WASM_OPT_FEATURES)
SPEEDTEST_WASM_VARIANTS ?=

# ---- Commands as prerequisites ----------------------------------------------------------
# Every output depends on a file under COMMANDS holding the command that makes it (for a
# compile less the file names; for a link with its objects). The file is rewritten, and so
# made newer than the outputs, only when that command changed: a new flag, compiler, exports
# list or set of sources remakes what it touches, nothing else. It is written while make
# reads this file, so `make -q` and `make -n` see it too.
$(shell mkdir -p $(COMMANDS))
same = $(and $(findstring x$1x,x$2x),$(findstring x$2x,x$1x))
# command NAME,TEXT: the path COMMANDS/NAME, after making sure it holds TEXT.
command = $(if $(call same,$(file <$(COMMANDS)/$1),$(strip $2)),,$(file >$(COMMANDS)/$1,$(strip $2)))$(COMMANDS)/$1

# ---- Recipes ----------------------------------------------------------------------------
# One line per step ("CC src -> object"), or with V=1 every command in full.
say = $(if $(V),,@printf '  %-3s %s\n' '$1' '$2';)

# compile VAR[,EXTRA]: compile $< to $@ with $(VAR) EXTRA; the headers it read go to $@.d.
compile = $(call say,CC,$< -> $@)mkdir -p $(@D) && $($1) $2 -MMD -MP -MF $@.d -c $< -o $@

# link CC,OBJECTS,FLAGS: link OBJECTS into $@ (libraries in FLAGS come after what needs them).
link = $(call say,LD,$@)mkdir -p $(@D) && $1 $2 $3 -o $@

# engine_rules DIR,VAR,NAME: compile rules for engine_objs DIR with the compiler and flags
# in $(VAR) (our sources with OUR_WARNINGS too); NAME names their command file.
define engine_rules
$1/sqlite3.o: $(SQLITE_UNIT) $(SQLITE_COPY) $(call command,$3-cc,$($2) $(OUR_WARNINGS))
	$$(call compile,$2,-I$(dir $(SQLITE_COPY)))
$1/cJSON.o: $(CJSON) $(COMMANDS)/$3-cc
	$$(call compile,$2)
$(patsubst src/%.c,$1/%.o,$(SRCS)): $1/%.o: src/%.c $(COMMANDS)/$3-cc
	$$(call compile,$2,$$(OUR_WARNINGS))
ALL_OBJS += $(call engine_objs,$1)
endef

$(SQLITE_COPY): deps/sqlite/sqlite3.c src/sqlite/interpose.sh $(call command,sqlite-copy,$(SQLITE_INTERPOSED))
	$(call say,GEN,$@)mkdir -p $(@D) && sh src/sqlite/interpose.sh $< $@ $(SQLITE_INTERPOSED)

.PHONY: all wasm native fuzz speedtest clean
all: wasm native

# ---- wasm: worker-shim/dist/dosql.wasm --------------------------------------------------
WASM_COMPILE := $(WASM_CC) $(WASM_SIZE_LEVEL) $(WASM_CFLAGS)
$(eval $(call engine_rules,$(WASM_OBJ),WASM_COMPILE,wasm))
# Our files on the per-row path of a bulk change, compiled for speed: the change capture
# hook writes every changed row's JSON through small helpers that -Oz leaves as calls.
# -O2 here took a 100,000-row UPDATE with capture on from 43-45 ms to 37-41 ms (the engine
# in Node, alternated), for 1.1 KB gzipped. -O2 for our other files moved no request time
# measurably, and for SQLite itself costs 70% in size (above).
WASM_SPEED_SRCS := src/capture.c src/json.c
WASM_SPEED_OBJS := $(patsubst src/%.c,$(WASM_OBJ)/%.o,$(WASM_SPEED_SRCS))
$(WASM_SPEED_OBJS): WASM_COMPILE = $(WASM_CC) -O2 $(WASM_CFLAGS)
$(WASM_SPEED_OBJS): $(call command,wasm-cc-speed,$(WASM_CC) -O2 $(WASM_CFLAGS) $(WASM_SPEED_SRCS))
WASM_OBJS := $(call engine_objs,$(WASM_OBJ))

# wasm: the module, then its sizes (raw and gzip -9, what Workers' size limit counts) and
# its imports, so a new import shows up in every build log.
wasm: $(DIST)/dosql.wasm
	@for f in $(BUILD)/dosql.wasm $(DIST)/dosql.wasm; do \
	  printf '  %-28s %9d bytes, %9d gzipped\n' $$f $$(wc -c < $$f) $$(gzip -9 -c $$f | wc -c); done
	@echo "  imports: $$($(WASM_OBJDUMP) -x -j Import $(DIST)/dosql.wasm | sed -n 's/.*<- //p' | tr '\n' ' ')"

$(BUILD)/dosql.wasm: $(WASM_OBJS) $(call command,wasm-ld,$(WASM_CC) $(WASM_OBJS) $(WASM_LDFLAGS))
	$(if $(SRCS),,$(error no src/*.c to build))
	$(call link,$(WASM_CC),$(WASM_OBJS),$(WASM_LDFLAGS))

$(DIST)/dosql.wasm: $(BUILD)/dosql.wasm $(call command,wasm-opt,$(WASM_OPT) $(WASM_OPT_FLAGS))
	$(call say,OPT,$(WASM_OPT) $(WASM_OPT_FLAGS) -> $@)mkdir -p $(@D) && \
	  $(WASM_OPT) $(WASM_OPT_FLAGS) $< -o $@

# ---- native: the C tests, libdosql.a, the sqlite3 CLI -----------------------------------
NATIVE_COMPILE := $(NATIVE_CC) $(NATIVE_CFLAGS)
$(eval $(call engine_rules,$(NATIVE_OBJ),NATIVE_COMPILE,native))
NATIVE_LIB_OBJS := $(call engine_objs,$(NATIVE_OBJ))
# Test objects apart, so a test file can never shadow a src/ object of the same name.
NATIVE_TEST_OBJS := $(patsubst tests/c/%.c,$(NATIVE_OBJ)/tests/%.o,$(C_TESTS) $(HOST_MEM))
NATIVE_TESTS := $(patsubst tests/c/%.c,$(NATIVE)/%,$(C_TESTS))
ALL_OBJS += $(NATIVE_TEST_OBJS)

native: $(NATIVE)/sqlite3 $(NATIVE)/libdosql.a $(NATIVE_TESTS)

$(NATIVE_TEST_OBJS): $(NATIVE_OBJ)/tests/%.o: tests/c/%.c $(COMMANDS)/native-cc
	$(call compile,NATIVE_COMPILE,$(OUR_WARNINGS))

# Each tests/c/test_*.c is one binary, linked with the native host.
$(NATIVE_TESTS): $(NATIVE)/%: $(NATIVE_OBJ)/tests/%.o $(NATIVE_OBJ)/tests/host_mem.o $(NATIVE_LIB_OBJS) \
                 $(call command,native-ld,$(NATIVE_CC) $(NATIVE_LIB_OBJS) $(NATIVE_LDFLAGS))
	$(call link,$(NATIVE_CC),$< $(NATIVE_OBJ)/tests/host_mem.o $(NATIVE_LIB_OBJS),$(NATIVE_LDFLAGS))

$(NATIVE)/libdosql.a: $(NATIVE_LIB_OBJS) $(call command,native-ar,ar rcs $(NATIVE_LIB_OBJS))
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $(NATIVE_LIB_OBJS)

CLI_COMPILE := $(NATIVE_CC) $(CLI_CFLAGS)
CLI_OBJS := $(NATIVE_OBJ)/cli-shell.o $(NATIVE_OBJ)/cli-sqlite3.o
ALL_OBJS += $(CLI_OBJS)
$(NATIVE_OBJ)/cli-sqlite3.o: deps/sqlite/sqlite3.c $(call command,cli-cc,$(CLI_COMPILE))
	$(call compile,CLI_COMPILE)
$(NATIVE_OBJ)/cli-shell.o: deps/sqlite/shell.c $(COMMANDS)/cli-cc
	$(call compile,CLI_COMPILE,-Ideps/sqlite)
$(NATIVE)/sqlite3: $(CLI_OBJS) $(call command,cli-ld,$(NATIVE_CC) $(CLI_LDFLAGS))
	$(call link,$(NATIVE_CC),$(CLI_OBJS),$(CLI_LDFLAGS))

# ---- fuzz: libFuzzer targets (tests/faults/fuzz/) ---------------------------------------
# Each fuzz_*.c is one target, linked with fuzz.c (the checks every answer must pass), the
# engine and the in-memory host.
FUZZ_COMPILE := $(FUZZ_CC) $(FUZZ_CFLAGS)
$(eval $(call engine_rules,$(FUZZ)/obj,FUZZ_COMPILE,fuzz))
FUZZ_LIB_OBJS := $(call engine_objs,$(FUZZ)/obj) $(FUZZ)/obj/tests/host_mem.o $(FUZZ)/obj/tests/fuzz.o
FUZZ_TEST_OBJS := $(patsubst %,$(FUZZ)/obj/tests/%.o,fuzz $(FUZZ_TARGETS))
ALL_OBJS += $(FUZZ_TEST_OBJS) $(FUZZ)/obj/tests/host_mem.o

fuzz: $(addprefix $(FUZZ)/,$(FUZZ_TARGETS))

$(FUZZ_TEST_OBJS): $(FUZZ)/obj/tests/%.o: $(FUZZ_DIR)/%.c $(COMMANDS)/fuzz-cc
	$(call compile,FUZZ_COMPILE,$(OUR_WARNINGS))
$(FUZZ)/obj/tests/host_mem.o: $(HOST_MEM) $(COMMANDS)/fuzz-cc
	$(call compile,FUZZ_COMPILE,$(OUR_WARNINGS))
$(addprefix $(FUZZ)/,$(FUZZ_TARGETS)): $(FUZZ)/%: $(FUZZ)/obj/tests/%.o $(FUZZ_LIB_OBJS) \
                                      $(call command,fuzz-ld,$(FUZZ_CC) $(FUZZ_LIB_OBJS) $(FUZZ_LDFLAGS))
	$(call link,$(FUZZ_CC),$< $(FUZZ_LIB_OBJS),$(FUZZ_LDFLAGS))

# ---- speedtest: SQLite's speedtest1, native and wasm (tests/bench/speedtest1/) ----------
# Not part of `test`: tests/bench/speedtest1/run.mjs builds with `./build.sh speedtest` and
# compares the times. Both sides link speedtest1.c with the engine, so the database lives in
# our VFS "dosql": natively over tests/c/host_mem.c, in wasm over worker-shim/src/host.js.

# speedtest_rules DIR,VAR,NAME: engine_rules, plus speedtest1.o.
define speedtest_rules
$(call engine_rules,$1,$2,$3)
$1/speedtest1.o: deps/speedtest1/speedtest1.c $(COMMANDS)/$3-cc
	$$(call compile,$2)
ALL_OBJS += $1/speedtest1.o
endef
speedtest_objs = $1/speedtest1.o $(call engine_objs,$1)

ST_NATIVE := $(SPEEDTEST)/native
SPEEDTEST_NATIVE_COMPILE := $(NATIVE_CC) $(SPEEDTEST_NATIVE_CFLAGS)
$(eval $(call speedtest_rules,$(ST_NATIVE),SPEEDTEST_NATIVE_COMPILE,speedtest-native))
ALL_OBJS += $(ST_NATIVE)/tests/host_mem.o
$(ST_NATIVE)/tests/host_mem.o: $(HOST_MEM) $(COMMANDS)/speedtest-native-cc
	$(call compile,SPEEDTEST_NATIVE_COMPILE,$(OUR_WARNINGS))
ST_NATIVE_OBJS := $(call speedtest_objs,$(ST_NATIVE)) $(ST_NATIVE)/tests/host_mem.o
$(SPEEDTEST)/speedtest1-native: $(ST_NATIVE_OBJS) \
    $(call command,speedtest-native-ld,$(NATIVE_CC) $(ST_NATIVE_OBJS) $(SPEEDTEST_NATIVE_LDFLAGS))
	$(call link,$(NATIVE_CC),$(ST_NATIVE_OBJS),$(SPEEDTEST_NATIVE_LDFLAGS))

# speedtest_wasm NAME,CLANG FLAGS,WASM-OPT FLAGS: one wasm variant, SPEEDTEST/speedtest1-NAME.wasm.
define speedtest_wasm
SPEEDTEST_WASM_COMPILE_$1 := $$(WASM_CC) --target=wasm32-wasi $$(WASM_FEATURES) $2 -DNDEBUG $$(INCLUDES)
$$(eval $$(call speedtest_rules,$(SPEEDTEST)/wasm-$1,SPEEDTEST_WASM_COMPILE_$1,speedtest-wasm-$1))
$(SPEEDTEST)/wasm-$1/speedtest1.wasm: $$(call speedtest_objs,$(SPEEDTEST)/wasm-$1) \
    $$(call command,speedtest-wasm-$1-ld,$$(WASM_CC) $$(call speedtest_objs,$(SPEEDTEST)/wasm-$1) $$(SPEEDTEST_WASM_LDFLAGS))
	$$(call link,$$(WASM_CC),$$(call speedtest_objs,$(SPEEDTEST)/wasm-$1),$$(SPEEDTEST_WASM_LDFLAGS))
$(SPEEDTEST)/speedtest1-$1.wasm: $(SPEEDTEST)/wasm-$1/speedtest1.wasm \
    $$(call command,speedtest-wasm-$1-opt,$$(WASM_OPT) $3)
	$$(call say,OPT,$$(WASM_OPT) $3 -> $$@)$$(WASM_OPT) $3 $$< -o $$@
SPEEDTEST_OUTPUTS += $(SPEEDTEST)/speedtest1-$1.wasm
endef
# The variant list as words NAME|FLAGS|FLAGS, a space inside flags written as '^' meanwhile.
empty :=
space := $(empty) $(empty)
st_field = $(subst ^, ,$(word $2,$(subst |, ,$1)))
SPEEDTEST_OUTPUTS := $(SPEEDTEST)/speedtest1-native
speedtest_variant = $(call speedtest_wasm,$(call st_field,$1,1),$(call st_field,$1,2),$(call st_field,$1,3))
$(foreach v,$(subst ;, ,$(subst $(space),^,$(SPEEDTEST_WASM_DEFAULT);$(SPEEDTEST_WASM_VARIANTS))),\
  $(eval $(call speedtest_variant,$v)))

speedtest: $(SPEEDTEST_OUTPUTS)
	@echo '  speedtest1: $(SPEEDTEST_OUTPUTS)'

# ---- Headers, missing inputs, clean -----------------------------------------------------
-include $(addsuffix .d,$(ALL_OBJS))

# deps/ is build.sh's to fill, pinned and checked: make never makes it.
deps/%:
	@echo 'make: $@ is missing: run ./build.sh deps' >&2; exit 1

clean:
	rm -rf $(BUILD) $(DIST)
