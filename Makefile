# kafka-orders lab. Every target is also an npm script (npm run <name>).
# Node 24 is taken from PATH, or installed once into .cache/node when the
# system node is older (scripts/node24.sh, the same bootstrap CI uses).
SHELL := bash
.DEFAULT_GOAL := help

NODE_BIN := $(shell scripts/node24.sh)
export PATH := $(NODE_BIN):$(PATH)
TSX := node_modules/.bin/tsx

.PHONY: help test test-unit test-kraft check-alerts typecheck lint stack-up stack-down stack-status stack-logs topic-init \
	up down ps produce logs scenarios scenario-dlq scenario-retry scenario-replay scenario-crash scenario-evolution \
	scenario-faults scenario-alert bench bench-smoke

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-19s %s\n", $$1, $$2}'

# npm ci again whenever the lockfile or a dependency patch is newer than the installed tree.
node_modules/.package-lock.json: package-lock.json $(wildcard services/lib/patches/*.patch)
	npm ci --no-audit --no-fund

test: node_modules/.package-lock.json ## Typecheck, unit, integration tests and scenarios (starts the local stack unless KAFKA_BROKERS is set)
	$(TSX) scripts/test.ts

test-unit: node_modules/.package-lock.json ## Unit tests only (no broker needed)
	$(TSX) scripts/test.ts --unit

test-kraft: node_modules/.package-lock.json ## Integration tests and scenarios on Kafka 4 in KRaft mode (4.1.1, or KAFKA_VERSION=4.x)
	KAFKA_VERSION=$(or $(filter 4.%,$(KAFKA_VERSION)),4.1.1) $(TSX) scripts/test.ts --integration

check-alerts: ## promtool and amtool: the alerting rules, their unit tests and both configurations (observability/)
	@command -v promtool >/dev/null && command -v amtool >/dev/null || \
		{ echo "promtool and amtool are missing: apt-get install prometheus prometheus-alertmanager"; exit 1; }
	cd observability && promtool check rules alerts.yml && promtool check config prometheus.yml && \
		promtool test rules alerts.test.yml && amtool check-config alertmanager.yml

typecheck: node_modules/.package-lock.json ## TypeScript strict check
	npx tsc --noEmit

lint: node_modules/.package-lock.json ## Formatting and lint rules (Biome); `npm run format` rewrites the files
	npx biome check --error-on-warnings .

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

up: node_modules/.package-lock.json ## Start the lab: Compose when Docker answers, else local processes (STACK=compose|local, PRODUCER=0, KAFKA_VERSION=4.1.1)
	$(TSX) scripts/lab.ts up $(if $(STACK),--stack $(STACK))

down: node_modules/.package-lock.json ## Stop what `make up` started (CLEAN=1 also wipes its data)
	$(TSX) scripts/lab.ts down $(if $(CLEAN),--clean)

ps: node_modules/.package-lock.json ## Show what the lab runs
	$(TSX) scripts/lab.ts ps

produce: node_modules/.package-lock.json ## Send one batch into the running lab and print what was sent (N=50, INVALID=, POISON=, TRANSIENT=)
	$(TSX) scripts/produce.ts --count $(or $(N),50) $(if $(INVALID),--invalid $(INVALID)) $(if $(POISON),--poison $(POISON)) $(if $(TRANSIENT),--transient $(TRANSIENT))

logs: node_modules/.package-lock.json ## Show the lab's logs (SERVICE=consumer for one)
	$(TSX) scripts/lab.ts logs $(SERVICE)

scenarios: node_modules/.package-lock.json ## Run every scenario, one summary table
	$(TSX) scripts/scenarios/all.ts

scenario-dlq: node_modules/.package-lock.json ## Permanent failures and poison pills land in the DLQ; the average is right
	$(TSX) scripts/scenarios/dlq.ts

scenario-retry: node_modules/.package-lock.json ## Transient failures recover within the budget or land in the DLQ; backoff follows the schedule
	$(TSX) scripts/scenarios/retry.ts

scenario-replay: node_modules/.package-lock.json ## Dead letters replayed through the API are counted once
	$(TSX) scripts/scenarios/replay.ts

scenario-crash: node_modules/.package-lock.json ## The consumer is killed mid-stream; the aggregate still equals the ground truth
	$(TSX) scripts/scenarios/crash.ts

scenario-evolution: node_modules/.package-lock.json ## A compatible v2 schema is accepted and processed; an incompatible v3 is refused
	$(TSX) scripts/scenarios/evolution.ts

scenario-faults: node_modules/.package-lock.json ## Bad input and altered topics: nothing stalls, nothing is lost, nothing counted twice (one row per case)
	$(TSX) scripts/scenarios/faults.ts

scenario-alert: node_modules/.package-lock.json ## A burst of poison records fires the dead-letter-rate alert end to end (Prometheus, Alertmanager, webhook, dashboard) and it resolves
	$(TSX) scripts/scenarios/alert.ts

bench: node_modules/.package-lock.json ## Full benchmarks side by side with Kafka's own tools and librdkafka; writes bench/RESULTS.md (about 30 min once the machine is quiet)
	$(TSX) scripts/bench/run.ts

bench-smoke: node_modules/.package-lock.json ## Every benchmark with a few hundred records, to keep the scripts working (writes under .cache/bench)
	$(TSX) scripts/bench/run.ts --smoke
