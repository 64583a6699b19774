# Thin wrapper: every target installs missing Debian packages first.
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
TEST_DIR := build/test

PREFIX ?= /usr/local
TSAN_DIR := build/tsan

.PHONY: all deps build demo test tsan install clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(RELEASE_DIR) -j $(JOBS)

# MODEL=path/to/ggml-base.en.bin transcribes the sample files with a real
# model instead of the synthetic one.
demo: build
	MODEL="$(MODEL)" ./scripts/demo.sh $(RELEASE_DIR)/tilewhisper

test: deps
	cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTW_SANITIZE=ON -DTW_WERROR=ON >/dev/null
	cmake --build $(TEST_DIR) -j $(JOBS)
	cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS)

# Installs the CLI, headers, libraries, pkg-config file and CMake package.
install: build
	cmake --install $(RELEASE_DIR) --prefix $(PREFIX)

# ThreadSanitizer build of the concurrency test: N states over one model.
tsan: deps
	cmake -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTW_TSAN=ON -DTW_WERROR=ON >/dev/null
	cmake --build $(TSAN_DIR) -j $(JOBS) --target test_concurrency
	cd $(TSAN_DIR) && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -R test_concurrency

clean:
	rm -rf build
