# Junggo. The two commands that matter: `make start` and `make test` (see README.md).
SHELL := /bin/bash
BIN := node_modules/.bin
TSX := $(BIN)/tsx


.PHONY: test-contract test-e2e check-breaking check-breaking-test release-spec
.PHONY: start test install services generate check-generated lint typecheck migrate seed replay dlq-replay coverage bench bench-layers bench-events build dev-token clean

start: ## Install, start services, migrate, seed, run API + worker, print the docs URL
	@bash scripts/start.sh

test: install services check-generated lint typecheck ## Everything CI runs
	$(BIN)/vitest run

install: ## npm ci when node_modules is missing or older than the lockfile
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi

services: ## Make sure PostgreSQL, Redis and RabbitMQ answer (start them if installed)
	@bash scripts/ensure-services.sh

generate: install ## Rebuild generated/ from openapi/
	@bash scripts/generate.sh generated && echo "generated/ is up to date with openapi/"

check-generated: install ## Fail when generated/ is stale
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && bash scripts/generate.sh $$tmp && \
	if diff -r -q generated $$tmp; then echo "generated/ matches openapi/"; \
	else echo "generated/ is stale: run 'make generate' and commit the result" >&2; exit 1; fi

lint: install ## Redocly (API-CONVENTIONS ruleset), Spectral (spectral:oas + OWASP) on the bundle, zero errors and warnings; the k6 scripts type-checked
	@out=$$($(BIN)/redocly lint --format=summary 2>&1); status=$$?; \
	echo "$$out" | grep -E '^(error|warning|validating)|valid' ; \
	if [ $$status -ne 0 ] || echo "$$out" | grep -qE '^warning'; then echo "redocly lint failed" >&2; exit 1; fi
	@bash scripts/lint-spectral.sh
	$(BIN)/tsc -p tsconfig.k6.json

check-breaking: install ## Fail on breaking spec changes vs the last v* tag, else HEAD~1 (HEAD with uncommitted spec changes); BASE=<git ref> to choose
	@bash scripts/check-breaking.sh $(if $(BASE),--base-ref $(BASE))

release-spec: check-generated ## Record the current bundle as the released contract that check-breaking guards
	cp generated/openapi.yaml openapi/releases/latest.yaml
	sed -i '/^- finding:/,$$d' openapi/releases/acknowledged.yaml

check-breaking-test: ## Prove the breaking-change gate on variants of the spec
	@bash scripts/check-breaking.test.sh

typecheck: install ## tsc --noEmit over src, sdk, tests and bench (strict); the SDK also against browser types
	$(BIN)/tsc -p tsconfig.json --noEmit
	$(BIN)/tsc -p tsconfig.sdk.json

migrate: install services ## Create the database if missing and apply migrations
	$(TSX) src/cli/migrate.ts

seed: install services ## Demo data: accounts, their neighbourhoods and listings (idempotent)
	$(TSX) src/cli/seed.ts

replay: install services ## Rebuild a read model from the event store, e.g. make replay PROJECTION=activity-log
	$(TSX) src/cli/replay.ts $(PROJECTION)

dlq-replay: install services ## Move a subscriber's dead letters back, e.g. make dlq-replay SUBSCRIBER=projection.activity-log
	$(TSX) src/cli/dlq-replay.ts $(SUBSCRIBER)

test-contract: install services ## Portman/newman contract tests, then the e2e scenarios through Prism (docs/qa.md); PROVE_DRIFT=1 adds the drift proofs
	@bash scripts/test-contract.sh $(if $(PROVE_DRIFT),--prove-drift)
	@bash scripts/prism-conformance.sh $(if $(PROVE_DRIFT),--prove-drift)

test-e2e: install ## The e2e scenarios against a running API at E2E_BASE_URL (docs/qa.md)
	$(BIN)/vitest run -c contract/vitest.e2e.config.mts

coverage: install services ## Tests with coverage (reports/coverage); fails below 80% of lines or branches of src/
	$(BIN)/vitest run --coverage

bench: build services migrate ## Category tree and profile reads vs bare node:http(+pg), sign-ins/s (docs/performance.md)
	$(TSX) bench/categories.ts
	$(TSX) bench/identity.ts
	$(TSX) bench/catalog.ts

bench-events: services migrate ## Events/s and commit-to-handler latency through relay + one consumer (docs/performance.md)
	$(TSX) bench/events.ts

bench-layers: build ## The cost of each cross-cutting middleware alone (docs/performance.md)
	node bench/middleware-costs.mjs

build: install ## Compile to dist/ (what the Docker image runs)
	$(BIN)/tsc -p tsconfig.build.json

dev-token: install ## Print an access token for local use, e.g. make dev-token ROLE=admin
	@$(TSX) src/cli/dev-token.ts $(ROLE)

clean:
	rm -rf dist reports coverage
