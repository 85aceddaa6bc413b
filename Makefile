# Lathe: `make demo` runs the pipeline on bundled data, `make test` runs the tests.
# Each installs what is missing first. `make` alone builds the tools into .build/release.

SWIFT        ?= swift
CONFIG       ?= release
BIN          := .build/$(CONFIG)
SOURCES      := Package.swift $(shell find Sources -type f 2>/dev/null)
PKG_MODULES  := zlib libxml-2.0 openblas
APT_PACKAGES := zlib1g-dev libxml2-dev libopenblas-dev pkg-config

.PHONY: all build deps test demo bench clean help
.DEFAULT_GOAL := build

help:
	@echo "make demo   run the pipeline on the bundled data (installs and builds what is missing)"
	@echo "make test   run the test suite (installs and builds what is missing)"
	@echo "make build  build the tools into $(BIN)"
	@echo "make bench  run every benchmark under bench/"

# System libraries: installed through apt-get when run as root, otherwise the line to run is printed.
deps: .build/deps.stamp
.build/deps.stamp:
	@command -v $(SWIFT) >/dev/null || { echo "Swift 6 is needed: see https://www.swift.org/install/linux/"; exit 1; }
	@missing=""; \
	command -v pkg-config >/dev/null || missing="pkg-config"; \
	for m in $(PKG_MODULES); do pkg-config --exists $$m 2>/dev/null || missing="$$missing $$m"; done; \
	if [ -n "$$missing" ]; then \
	  echo "missing system libraries:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) || exit 1; \
	  else \
	    echo "run: sudo apt-get install -y $(APT_PACKAGES)"; exit 1; \
	  fi; \
	fi
	@mkdir -p .build && touch $@

# Rebuilt only when a source changes, so `make test` and `make demo` start quickly.
build: $(BIN)/.built
$(BIN)/.built: .build/deps.stamp $(SOURCES)
	$(SWIFT) build -c $(CONFIG)
	@touch $@

# Tests run in release with testing enabled: the numerical tests train real models and are
# 10-50x slower in debug builds. LATHE_BIN tells the command-line tests where the tools are.
test: .build/deps.stamp
	$(SWIFT) build -c release --build-tests -Xswiftc -enable-testing
	LATHE_BIN=$(CURDIR)/.build/release $(SWIFT) test -c release --skip-build -Xswiftc -enable-testing $(if $(FILTER),--filter '$(FILTER)')

demo: build
	LATHE_BIN=$(CURDIR)/$(BIN) bash demo/run.sh

bench: build
	@for b in bench/*.sh; do echo "== $$b"; bash $$b || exit 1; done

clean:
	rm -rf .build demo/out bench/out
