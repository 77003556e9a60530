# kvpack: the two set-up commands of the README are `make run` and `make test`.
GO ?= go
PROMPT ?= Explain in two sentences why the sky is blue.

.PHONY: run test build model oracle e2e bench clean

build:
	$(GO) build -o bin/kvpack ./cmd/kvpack

model:
	scripts/fetch-model.sh

oracle:
	scripts/setup-oracle.sh

e2e:
	scripts/setup-e2e.sh

# The main job: fetch the default model if missing, then chat with it.
run: model build
	bin/kvpack run --chat --prompt "$(PROMPT)" -n 64

# Everything CI checks: vet, the unit tests with the race detector, and the
# llama.cpp oracle tests (which need `make model oracle` first).
test: model oracle e2e
	$(GO) vet ./...
	$(GO) test -race -short -count=1 ./...
	$(GO) test -count=1 -timeout 40m ./...

bench: model oracle build
	bin/kvpack bench decode

clean:
	rm -rf bin
