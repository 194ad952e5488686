# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# gtrace: .bpf.c -> .bpf.o -> .skel.h -> user objects -> build/gtrace
# `make` builds, `make test` runs every test, `make demo` traces a bundled
# program, `make bench` measures; each installs what is missing first.

OUT      := build
# make test SANITIZE=1: the unit and report tests built with ASan + UBSan, in build/san
# (an UBSan finding aborts: -fno-sanitize-recover).
SAN_SUITES := unit export merge outputs sigkill
ifeq ($(SANITIZE),1)
OUT      := build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
OBJ      := $(OUT)/obj
ARCH     := $(shell uname -m | sed 's/aarch64/arm64/')
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= gcc
PROTOC_C ?= protoc-c

BPF_ARCH := $(subst x86_64,x86,$(ARCH))
CFLAGS   ?= -O2 -g
CFLAGS   += $(SAN_FLAGS)
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	    -D_GNU_SOURCE -I$(OBJ) -Iuser -I. -MMD -MP
LDLIBS   := -lbpf -lelf -ldw -lz -lzstd -lcapstone -lprotobuf-c -lcurl -lm -lncursesw

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OBJ)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(OBJ)/%.skel.h,$(BPF_SRCS))
PROTOS    := $(wildcard user/proto/*.proto)
PROTO_C   := $(patsubst user/proto/%.proto,$(OBJ)/%.pb-c.c,$(PROTOS))
PROTO_O   := $(PROTO_C:.c=.o)
# user/ is grouped by pipeline layer (README "Layout"); objects mirror it
# under build/obj/<layer>/.
LAYERS    := lib binary capture live export agent cmd
USER_SRCS := $(filter-out user/cmd/gtrace.c,$(wildcard $(addprefix user/,$(addsuffix /*.c,$(LAYERS)))))
USER_OBJS := $(patsubst user/%.c,$(OBJ)/%.o,$(USER_SRCS))
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(patsubst tests/unit/%.c,$(OBJ)/unit/%.o,$(UNIT_SRCS))

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.PHONY: all deps test demo bench clean fixtures fuzz corpus stress
.DELETE_ON_ERROR:
.SECONDARY:

all: $(OUT)/gtrace

# Debian packages gtrace builds and tests with; only the missing ones are installed.
DEB_PKGS := clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev libzstd-dev libcapstone-dev \
	    libprotobuf-c-dev protobuf-c-compiler libcurl4-openssl-dev pkg-config golang-1.19-go \
	    python3 python3-venv wrk bpftrace libclang-rt-dev tmux libncurses-dev
deps:
	$(Q)./tools/install-deps.sh $(DEB_PKGS)

OBJ_DIRS := $(OBJ) $(OBJ)/unit $(addprefix $(OBJ)/,$(LAYERS))
$(OBJ_DIRS):
	$(Q)mkdir -p $@

$(OBJ)/vmlinux.h: vmlinux/$(ARCH)/vmlinux.h | $(OBJ)
	$(Q)cp $< $@

$(OBJ)/%.bpf.o: bpf/%.bpf.c bpf/gtrace_events.h $(wildcard bpf/*.bpf.h) $(OBJ)/vmlinux.h | $(OBJ)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(OBJ) -Ibpf -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OBJ)/%.skel.h: $(OBJ)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .,_,$*)_bpf > $@

$(OBJ)/%.pb-c.c $(OBJ)/%.pb-c.h: user/proto/%.proto | $(OBJ)
	$(call msg,PROTOC,$@)
	$(Q)$(PROTOC_C) --proto_path=user/proto --c_out=$(OBJ) $<

$(OBJ)/%.pb-c.o: $(OBJ)/%.pb-c.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Wno-error -c $< -o $@

# Generated headers are order-only: the .d files name the objects that really
# include them, so a BPF edit rebuilds the loader, not every object.
$(OBJ)/%.o: user/%.c | $(SKELS) $(PROTO_C) $(OBJ_DIRS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/gtrace: $(OBJ)/cmd/gtrace.o $(USER_OBJS) $(PROTO_O)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OBJ)/unit/%.o: tests/unit/%.c | $(SKELS) $(PROTO_C) $(OBJ_DIRS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -c $< -o $@

$(OUT)/unit_tests: $(UNIT_OBJS) $(USER_OBJS) $(PROTO_O)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

fixtures: all
	$(Q)./tests/fixtures/build.sh

# The pprof label linter (Go, tools/pprof-label-linter, docs/label-linter.md).
GO ?= /usr/local/go/bin/go
LINT_SRCS := $(shell find tools/pprof-label-linter -name '*.go' -not -path '*/testdata/*')
.PHONY: lint-tool
lint-tool: $(OUT)/pprof-label-linter
$(OUT)/pprof-label-linter: $(LINT_SRCS) tools/pprof-label-linter/go.mod tools/pprof-label-linter/go.sum
	$(call msg,GO,$@)
	$(Q)mkdir -p $(OUT) && cd tools/pprof-label-linter && GOFLAGS=-mod=mod $(GO) build -o $(abspath $@) .

test: deps
	$(Q)$(MAKE) --no-print-directory all $(OUT)/unit_tests
	$(Q)GTRACE_BUILD=$(OUT) ASAN_OPTIONS=detect_leaks=0 ./tests/run.sh $(if $(filter 1,$(SANITIZE)),$(SAN_SUITES))

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./tools/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./bench/run.sh

fuzz: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./tests/fuzz/run.sh

# Third-party Go binaries from npm, PyPI and Debian (tests/corpus/list.tsv), cached in ~/.cache/gtrace-corpus.
corpus: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)GTRACE=$(CURDIR)/$(OUT)/gtrace ./tests/corpus/run.sh

# The stress campaign (tests/stress/, docs/stress.md): long, not part of make test.
stress: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./tests/stress/run.bash

clean:
	rm -rf $(OUT)

-include $(wildcard $(OBJ)/*.d $(OBJ)/*/*.d)
