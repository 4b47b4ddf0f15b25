# kafka-orders lab. Every target is also an npm script (npm run <name>).
# Node 24 is taken from PATH, or installed once into .cache/node when the
# system node is older (scripts/node24.sh, the same bootstrap CI uses).
SHELL := bash
.DEFAULT_GOAL := help

NODE_BIN := $(shell scripts/node24.sh)
export PATH := $(NODE_BIN):$(PATH)
TSX := node_modules/.bin/tsx

.PHONY: help test test-unit typecheck stack-up stack-down stack-status stack-logs topic-init

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# npm ci again whenever the lockfile is newer than the installed tree.
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

test: node_modules/.package-lock.json ## Typecheck, unit and integration tests (starts the local stack unless KAFKA_BROKERS is set)
	$(TSX) scripts/test.ts

test-unit: node_modules/.package-lock.json ## Unit tests only (no broker needed)
	$(TSX) scripts/test.ts --unit

typecheck: node_modules/.package-lock.json ## TypeScript strict check
	npx tsc --noEmit

stack-up: node_modules/.package-lock.json ## Start ZooKeeper, Kafka and the schema registry from jars (no Docker)
	$(TSX) scripts/stack.ts up

stack-down: node_modules/.package-lock.json ## Stop the local stack (CLEAN=1 also wipes its data)
	$(TSX) scripts/stack.ts down $(if $(CLEAN),--clean)

stack-status: node_modules/.package-lock.json ## Show which local-stack processes run
	$(TSX) scripts/stack.ts status

stack-logs: node_modules/.package-lock.json ## Tail the local-stack logs
	$(TSX) scripts/stack.ts logs

topic-init: node_modules/.package-lock.json ## Create topics and register schemas against KAFKA_BROKERS / SCHEMA_REGISTRY_URL
	$(TSX) services/topic-init/main.ts
