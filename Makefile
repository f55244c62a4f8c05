# kafka-scale: build, test and run the pipeline locally.
#
# The Go modules are the ones go.work lists; nothing here keeps its own list.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Tools that scripts/install-deps.sh installs (helm, actionlint) live in the cache.
export PATH := $(shell scripts/install-deps.sh --bin):$(PATH)

# Without Go the module list is empty; the deps target then says what is missing.
MODULE_DIRS := $(shell command -v go >/dev/null && go list -m -f '{{.Dir}}')
PKGS        := $(addsuffix /...,$(MODULE_DIRS))
# Packages with integration tests: the files tagged `integration`.
INTEGRATION_PKGS = $(sort $(dir $(shell grep -rl --include='*_test.go' '^//go:build integration' $(MODULE_DIRS))))

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/kafka-scale/kafka-scale/pkg/version.Version=$(VERSION) \
           -X github.com/kafka-scale/kafka-scale/pkg/version.Commit=$(COMMIT)
BINARIES := reader computer aggregator kafka-scale

# Images: one per directory of services/, from the root Dockerfile.
SERVICES        := $(notdir $(patsubst %/go.mod,%,$(wildcard services/*/go.mod)))
IMAGE_REGISTRY  ?= ghcr.io/kafka-scale
IMAGE_TAG       ?= $(VERSION)
IMAGE_PLATFORMS ?= linux/$(shell go env GOARCH)
# make test-images builds them with BuildKit without Docker (scripts/images-local.sh,
# root needed) on a registry port of its own, out of the ports the tests use.
IMAGES_LOCAL_PORT ?= 29500
# golangci-lint (.golangci.yml), pinned as a tool of a module of its own, not
# in go.work, so that its dependencies stay out of the services' builds.
LINT_TOOLS_DIR  := tools/lint
# The Go tools' own modules, kept out of go.work: buf (tools), golangci-lint
# (tools/lint), and BuildKit and the registry that scripts/images-local.sh builds
# the images with (tools/images).
IMAGES_TOOLS_DIR := tools/images
TOOLS_DIRS      := tools $(LINT_TOOLS_DIR) $(IMAGES_TOOLS_DIR)

# Integration tests get a broker of their own, apart from the demo's; the
# least-privilege test (e2e/security) starts one more that enforces ACLs
# (KAFKA_SECURITY=sasl_ssl), on TEST_SECURE_KAFKA_PORT and the port after it.
# Every fixed port the tests listen on lies below Linux's ephemeral range
# (32768-60999): a server started (or started again) must not find its port
# taken as the source port of some client connection.
TEST_KAFKA_PORT ?= 29092
TEST_SECURE_KAFKA_PORT ?= $(shell echo $$(($(TEST_KAFKA_PORT) + 10)))
GO_TEST_FLAGS   ?=

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: demo
demo: deps-demo build ## Run the pipeline on generated census months against a local broker and print the results (scripts/demo.sh).
	scripts/demo.sh

.PHONY: build
build: ## Build bin/reader, bin/computer, bin/aggregator and bin/kafka-scale.
	@command -v go >/dev/null || { echo "build: Go 1.26 is needed and 'go' is not on PATH (https://go.dev/doc/install)"; exit 1; }
	@mkdir -p bin
	@echo "build: bin/reader bin/computer bin/aggregator bin/kafka-scale (a minute or two the first time, with cgo)"
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/ \
		./services/reader/cmd/reader ./services/computer/cmd/computer \
		./services/aggregator/cmd/aggregator ./cmd/kafka-scale

.PHONY: test
test: test-unit test-integration test-images ## Run every test: unit, integration against a real local broker, the images' build.

.PHONY: test-unit
test-unit: deps ## Unit tests (no Kafka needed).
	go test $(GO_TEST_FLAGS) -count=1 $(PKGS)

.PHONY: test-integration
test-integration: deps build ## Integration and end-to-end tests against a real Kafka broker started for them.
	KAFKA_PORT=$(TEST_KAFKA_PORT) KAFKA_SECURE_PORT=$(TEST_SECURE_KAFKA_PORT) scripts/with-kafka.sh \
		go test $(GO_TEST_FLAGS) -count=1 -tags integration -run 'Integration|E2E' -timeout 20m $(INTEGRATION_PKGS)

.PHONY: test-images
test-images: deps ## Build every service's image from the Dockerfile with BuildKit, without Docker (root), and run and check each binary in its image.
	export IMAGES_LOCAL_PORT=$(IMAGES_LOCAL_PORT) VERSION=$(VERSION) COMMIT=$(COMMIT); \
		trap 'scripts/images-local.sh stop' EXIT; \
		scripts/images-local.sh build; \
		scripts/images-local.sh check

.PHONY: images-local
images-local: deps ## Build every service's image from the Dockerfile with BuildKit, without Docker (root): OCI tarballs in /tmp/kafka-scale-images/out.
	export IMAGES_LOCAL_PORT=$(IMAGES_LOCAL_PORT) VERSION=$(VERSION) COMMIT=$(COMMIT); \
		trap 'scripts/images-local.sh stop' EXIT; \
		scripts/images-local.sh build

.PHONY: images
images: ## Build an image per service with docker buildx (IMAGE_REGISTRY, IMAGE_TAG, IMAGE_PLATFORMS).
	@if ! docker buildx version >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then \
		echo "images: docker buildx and a running Docker engine are needed, and this machine lacks them."; \
		echo "images: make images-local builds them with BuildKit without Docker (root needed)."; \
		exit 1; \
	fi
	for s in $(SERVICES); do \
		docker buildx build --target "$$s" --build-arg SERVICE="$$s" \
			--build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) \
			--platform $(IMAGE_PLATFORMS) --load -t $(IMAGE_REGISTRY)/"$$s":$(IMAGE_TAG) . ; \
	done

.PHONY: lint
lint: deps check-dashboards check-schema ## gofmt, go.mod files tidy, go vet (with and without the integration tag), golangci-lint, the wire schema, charts' schemas of global, shellcheck, actionlint, dashboards and rules.
	@out=$$(gofmt -l $(MODULE_DIRS)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@# Each module builds on its own (GOWORK=off), as the images do: its go.mod lists what it imports.
	@for d in $(MODULE_DIRS) $(TOOLS_DIRS); do (cd $$d && GOWORK=off go mod tidy -diff >/dev/null) || { echo "$$d: go.mod or go.sum not tidy: make tidy"; exit 1; }; done
	go vet $(PKGS)
	go vet -tags integration $(PKGS)
	go vet -tags faults ./e2e/...
	cd charts && go run ./cmd/globalschema -check
	@# golangci-lint checks one module at a time; go tool -n builds it once into Go's cache and prints its path.
	@golangci=$$(cd $(LINT_TOOLS_DIR) && GOWORK=off go tool -n golangci-lint); \
		for d in $(MODULE_DIRS); do echo "golangci-lint: $$d"; (cd $$d && $$golangci run ./...) || exit 1; done
	shellcheck scripts/*.sh scripts/lib/*.sh .ci/run
	actionlint

# The wire format (pkg/schema/schema.proto): Go code generated with buf and the
# plugins pkg/go.mod pins as tools; buf itself is pinned in tools/go.mod, a
# module apart so that its dependencies stay out of the others. make lint
# fails on stale generated code, on buf lint, and on a change that breaks the
# wire format of the released schema, SCHEMA_BASELINE (a commit of this
# repository's history: there are no tags). buf clones the repository to find
# it, by default only 50 generations deep: the depth asked for is the whole
# history's.
SCHEMA_DIR      := pkg/schema
SCHEMA_BASELINE ?= 0473b66
BUF             := GOWORK=off go tool -modfile=$(CURDIR)/tools/go.mod buf

.PHONY: generate
generate: ## Regenerate the wire format's Go code (pkg/schema/schemapb) from schema.proto.
	cd $(SCHEMA_DIR) && $(BUF) generate

.PHONY: check-schema
check-schema: ## Fail on stale generated code, buf lint findings, or a wire-breaking change against SCHEMA_BASELINE.
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
		(cd $(SCHEMA_DIR) && $(BUF) generate --output "$$tmp"); \
		diff -r $(SCHEMA_DIR)/schemapb "$$tmp/schemapb" || { echo "$(SCHEMA_DIR)/schemapb is stale: make generate"; exit 1; }
	cd $(SCHEMA_DIR) && $(BUF) lint
	cd $(SCHEMA_DIR) && $(BUF) breaking . --against "$(CURDIR)/.git#ref=$(SCHEMA_BASELINE),depth=$$(git -C $(CURDIR) rev-list --count HEAD),subdir=$(SCHEMA_DIR)"

.PHONY: tidy
tidy: ## go mod tidy in every module.
	for d in $(MODULE_DIRS) $(TOOLS_DIRS); do (cd $$d && GOWORK=off go mod tidy); done

.PHONY: deps-demo
deps-demo: ## Install only what make demo needs: Java, Maven and the Kafka jars (idempotent).
	scripts/install-deps.sh --demo

.PHONY: deps
deps: ## Install what the demo and the tests need on a Debian machine (idempotent; the targets that need it run it).
	scripts/install-deps.sh

.PHONY: clean
clean: ## Remove build output.
	rm -rf bin dist

# Dashboards and alert rules: dashboards/README.md. The JSON is generated
# from dashboards/*.go; the rules are tested with promtool.

.PHONY: dashboards
dashboards: ## Regenerate the Grafana dashboards' JSON (dashboards/*.json).
	go run ./dashboards/cmd/gen

.PHONY: check-dashboards
check-dashboards: deps ## Fail on stale dashboard JSON; promtool check and test the alert rules.
	@command -v promtool >/dev/null || { echo "promtool missing: install the Debian package prometheus (make deps)"; exit 1; }
	go test -count=1 ./dashboards/...

# Helm charts: charts/README.md. Helm reads only files inside a chart, so the
# umbrella chart carries copies of the dashboards and alert rules; the charts'
# tests fail when those copies drift from dashboards/.

CHART_FILES := charts/kafka-scale/files

.PHONY: charts-sync
charts-sync: ## Copy dashboards/*.json and dashboards/rules/*.yaml into the umbrella chart.
	rm -rf $(CHART_FILES)/dashboards $(CHART_FILES)/rules
	mkdir -p $(CHART_FILES)/dashboards $(CHART_FILES)/rules
	shopt -s nullglob; \
		for f in dashboards/*.json; do cp "$$f" $(CHART_FILES)/dashboards/; done; \
		for f in dashboards/rules/*.yaml; do cp "$$f" $(CHART_FILES)/rules/; done

.PHONY: charts-docs
charts-docs: ## Regenerate the charts' README.md with helm-docs (pinned in charts/go.mod).
	cd charts && go tool helm-docs --chart-search-root . --skip-version-footer --log-level warning

# Helm validates each chart's values against its own values.schema.json and
# resolves no $ref inside a chart, so each schema carries the schema of global;
# the one source is charts/kafka-scale-lib/values.global.schema.json.
.PHONY: charts-schema
charts-schema: ## Write charts/kafka-scale-lib/values.global.schema.json into every chart's values.schema.json (make lint checks it).
	cd charts && go run ./cmd/globalschema

.PHONY: charts-golden
charts-golden: ## Rewrite the charts' golden renders (charts/testdata/golden); review the diff.
	cd charts && go test -count=1 -run TestGolden . -update

# The cluster test gets a cluster of its own (directory and ports), apart from
# one a developer runs with kube-local.sh's defaults; one real node runs per
# machine, so a developer's must be stopped first. Its pods reach a broker of
# its own on the host at the pod bridge's address (KAFKA_EXTRA_LISTENER, the
# port after the controller's), and the reader a census site the test serves
# there (KUBE_TEST_CENSUS_ADDR, the port after that; TestKubeBrokerOutage
# opens a relay to the broker on the next one). -v: the tests log what each
# step saw (pods, group members, results). TEST_KUBE_IMAGES: image
# tarballs to import into the node before the tests,
# ghcr.io/kafka-scale/<service>:<tag> with tag KUBE_TEST_IMAGE_TAG (default:
# the charts' appVersion); by default the services' images, built from the
# Dockerfile first (make images-local).
TEST_KUBE_ENV ?= KUBE_LOCAL_DIR=$${TMPDIR:-/tmp}/kafka-scale-kube-test KUBE_ETCD_PORT=22379 \
	KUBE_APISERVER_PORT=26443 KUBE_CONTROLLER_MANAGER_PORT=20257 KUBE_SCHEDULER_PORT=20259 \
	KUBE_KUBELET_PORT=20250 KUBE_KUBELET_HEALTHZ_PORT=20248 KUBE_PROXY_HEALTHZ_PORT=20256 \
	KUBE_PROXY_METRICS_PORT=20249 KUBE_CONTAINERD_STREAM_PORT=20251
TEST_KUBE_KAFKA_PORT ?= 29392
IMAGES_LOCAL_OUT := $${IMAGES_LOCAL_DIR:-$${TMPDIR:-/tmp}/kafka-scale-images}/out
TEST_KUBE_IMAGES ?= $(foreach s,$(SERVICES),$(IMAGES_LOCAL_OUT)/$(s).tar)

.PHONY: test-kube
test-kube: deps $(if $(filter $(IMAGES_LOCAL_OUT)/%,$(TEST_KUBE_IMAGES)),images-local) ## Install the charts on a local cluster with a real node (scripts/kube-local.sh) and a broker, then stop both and check that nothing is left.
	export $(TEST_KUBE_ENV); \
		trap 'rc=$$?; scripts/kube-local.sh stop || rc=1; scripts/kube-local.sh check || rc=1; exit $$rc' EXIT; \
		scripts/kube-local.sh start; \
		$(if $(strip $(TEST_KUBE_IMAGES)),scripts/kube-local.sh import $(TEST_KUBE_IMAGES);) \
		eval "$$(scripts/kube-local.sh env)"; \
		KAFKA_PORT=$(TEST_KUBE_KAFKA_PORT) KAFKA_EXTRA_LISTENER=10.244.0.1:$$(($(TEST_KUBE_KAFKA_PORT) + 2)) \
			KUBE_TEST_CENSUS_ADDR=10.244.0.1:$$(($(TEST_KUBE_KAFKA_PORT) + 3)) \
			scripts/with-kafka.sh go test $(GO_TEST_FLAGS) -v -count=1 -tags kube -run Kube -timeout 20m ./charts/...

# Lag-based autoscaling end to end (docs/autoscaling.md): a control plane
# with the real node (scripts/kube-local.sh), KEDA and a broker of its own,
# each on ports apart from test-kube's; one real node runs per machine, so
# test-kube's and a developer's must be stopped first. The pods run the
# services' images (TEST_AUTOSCALING_IMAGES, by default built from the
# Dockerfile first, as for test-kube) and reach the broker on the pod
# bridge (KAFKA_EXTRA_LISTENER, the port after the controller's).
# AUTOSCALING_DOCS=docs rewrites the committed docs/autoscaling-run.csv and
# .png from the run.
TEST_AUTOSCALING_ENV ?= KUBE_LOCAL_DIR=$${TMPDIR:-/tmp}/kafka-scale-kube-autoscaling KUBE_ETCD_PORT=23379 \
	KUBE_APISERVER_PORT=27443 KUBE_CONTROLLER_MANAGER_PORT=21257 KUBE_SCHEDULER_PORT=21259 \
	KUBE_KUBELET_PORT=21250 KUBE_KUBELET_HEALTHZ_PORT=21248 KUBE_PROXY_HEALTHZ_PORT=21256 \
	KUBE_PROXY_METRICS_PORT=21249 KUBE_CONTAINERD_STREAM_PORT=21251 \
	KEDA_LOCAL_DIR=$${TMPDIR:-/tmp}/kafka-scale-keda-autoscaling KEDA_ADAPTER_PORT=27444 KEDA_ADAPTER_HTTP_PORT=28082 \
	KEDA_OPERATOR_METRICS_PORT=28080 KEDA_OPERATOR_HEALTH_PORT=28081 KEDA_OPERATOR_GRPC_PORT=29666
TEST_AUTOSCALING_KAFKA_PORT ?= 29192
TEST_AUTOSCALING_IMAGES ?= $(foreach s,computer aggregator,$(IMAGES_LOCAL_OUT)/$(s).tar)
AUTOSCALING_DOCS ?=

.PHONY: test-autoscaling
test-autoscaling: deps build $(if $(filter $(IMAGES_LOCAL_OUT)/%,$(TEST_AUTOSCALING_IMAGES)),images-local) ## KEDA scales real computer pods on lag: local broker, control plane with a real node, KEDA (scripts/keda-local.sh), the umbrella chart; then checks that the node left nothing.
	export $(TEST_AUTOSCALING_ENV); \
		trap 'rc=$$?; scripts/keda-local.sh stop || rc=1; scripts/kube-local.sh stop || rc=1; scripts/kube-local.sh check || rc=1; exit $$rc' EXIT; \
		scripts/kube-local.sh start; \
		$(if $(strip $(TEST_AUTOSCALING_IMAGES)),scripts/kube-local.sh import $(TEST_AUTOSCALING_IMAGES);) \
		eval "$$(scripts/kube-local.sh env)"; \
		scripts/keda-local.sh start; \
		KAFKA_PORT=$(TEST_AUTOSCALING_KAFKA_PORT) KAFKA_EXTRA_LISTENER=10.244.0.1:$$(($(TEST_AUTOSCALING_KAFKA_PORT) + 2)) \
			scripts/with-kafka.sh \
			go test $(GO_TEST_FLAGS) -count=1 -tags autoscaling -run Autoscaling -timeout 20m ./e2e/autoscaling/... \
			$(if $(AUTOSCALING_DOCS),-args -docs $(abspath $(AUTOSCALING_DOCS)))

# The charts next to prometheus-operator (scripts/prometheus-operator-local.sh):
# the operator and a Prometheus configured as kube-prometheus-stack's, on a
# cluster with the real node, KEDA and a broker of its own, each on ports
# apart from test-kube's and test-autoscaling's (one real node runs per
# machine). charts/monitoring_test.go checks the PodMonitors' targets, the
# PrometheusRule, the dashboards' queries and an alert against that
# Prometheus's API; e2e/autoscaling's TestLagSecondsE2E scales the computers
# with KEDA's Prometheus trigger on the lag in seconds it serves. The first
# run builds Prometheus from source into the cache (10-20 minutes).
TEST_MONITORING_ENV ?= KUBE_LOCAL_DIR=$${TMPDIR:-/tmp}/kafka-scale-kube-monitoring KUBE_ETCD_PORT=25379 \
	KUBE_APISERVER_PORT=28443 KUBE_CONTROLLER_MANAGER_PORT=25257 KUBE_SCHEDULER_PORT=25259 \
	KUBE_KUBELET_PORT=25250 KUBE_KUBELET_HEALTHZ_PORT=25248 KUBE_PROXY_HEALTHZ_PORT=25256 \
	KUBE_PROXY_METRICS_PORT=25249 KUBE_CONTAINERD_STREAM_PORT=25251 \
	KEDA_LOCAL_DIR=$${TMPDIR:-/tmp}/kafka-scale-keda-monitoring KEDA_ADAPTER_PORT=28444 KEDA_ADAPTER_HTTP_PORT=28182 \
	KEDA_OPERATOR_METRICS_PORT=28180 KEDA_OPERATOR_HEALTH_PORT=28181 KEDA_OPERATOR_GRPC_PORT=29667 \
	PROMETHEUS_OPERATOR_LOCAL_DIR=$${TMPDIR:-/tmp}/kafka-scale-prometheus-operator-monitoring \
	PROMETHEUS_OPERATOR_PORT=25290 PROMETHEUS_APIFORWARD_PORT=25291 PROMETHEUS_RELEASE=kube-prometheus-stack
TEST_MONITORING_KAFKA_PORT ?= 29592
TEST_MONITORING_IMAGES ?= $(TEST_KUBE_IMAGES)

.PHONY: test-monitoring
test-monitoring: deps build $(if $(filter $(IMAGES_LOCAL_OUT)/%,$(TEST_MONITORING_IMAGES)),images-local) ## The charts' PodMonitors, PrometheusRule and dashboards against prometheus-operator on a local cluster with a real node, and KEDA on the lag in seconds from that Prometheus.
	export $(TEST_MONITORING_ENV); \
		trap 'rc=$$?; scripts/prometheus-operator-local.sh stop || rc=1; scripts/keda-local.sh stop || rc=1; scripts/kube-local.sh stop || rc=1; scripts/kube-local.sh check || rc=1; exit $$rc' EXIT; \
		scripts/prometheus-operator-local.sh install; \
		scripts/kube-local.sh start; \
		$(if $(strip $(TEST_MONITORING_IMAGES)),scripts/kube-local.sh import $(TEST_MONITORING_IMAGES);) \
		eval "$$(scripts/kube-local.sh env)"; \
		scripts/keda-local.sh start; \
		scripts/prometheus-operator-local.sh start; \
		eval "$$(scripts/prometheus-operator-local.sh env)"; \
		KAFKA_PORT=$(TEST_MONITORING_KAFKA_PORT) KAFKA_EXTRA_LISTENER=10.244.0.1:$$(($(TEST_MONITORING_KAFKA_PORT) + 2)) \
			KUBE_TEST_CENSUS_ADDR=10.244.0.1:$$(($(TEST_MONITORING_KAFKA_PORT) + 3)) \
			scripts/with-kafka.sh sh -c 'go test $(GO_TEST_FLAGS) -v -count=1 -tags kube -run Monitoring -timeout 20m ./charts/... && \
				go test $(GO_TEST_FLAGS) -v -count=1 -tags autoscaling -run LagSeconds -timeout 20m ./e2e/autoscaling/...'

# Broker failures during a load on a three-node cluster of its own
# (scripts/kafka-cluster.sh, replication factor 3, min.insync.replicas 2).
TEST_FAULTS_KAFKA_PORT ?= 29292

.PHONY: test-faults
test-faults: deps build ## Broker faults (leader killed, coordinator killed, broker paused, cluster restarted) during a load on a local 3-node cluster.
	export KAFKA_CLUSTER_PORT=$(TEST_FAULTS_KAFKA_PORT); \
		trap 'scripts/kafka-cluster.sh clean' EXIT; \
		bootstrap=$$(scripts/kafka-cluster.sh start | tail -n 1); \
		KAFKA_BOOTSTRAP_SERVERS=$$bootstrap go test $(GO_TEST_FLAGS) -count=1 -tags faults -run Fault -timeout 30m -v ./e2e/faults/...

# Benchmarks: bench/README.md. Not part of `make test`: a run takes five to ten
# minutes, starts its own broker (port 29492) and wants a quiet machine.

BENCH_FLAGS ?=

.PHONY: bench
bench: deps build ## Measure the pipeline on this machine; writes bench/results/<date>.md.
	go run ./bench/cmd/bench $(BENCH_FLAGS)

# The scale curve (bench/README.md): 1, 3, 12 and 36 generated months end to
# end on a broker of its own (port 29520 and the next), then 12 months on a
# three-broker cluster (ports 29540-29561). The months are generated once
# into ~/.cache/kafka-scale/bench-data and reused.
BENCH_SCALE_FLAGS ?=

.PHONY: bench-scale
bench-scale: deps-demo build ## Measure how the cost grows from 1 to 36 months; writes bench/results/scale-<date>.md and .png.
	go run ./bench/cmd/benchscale $(BENCH_SCALE_FLAGS)

# The hot paths' Go benchmarks (parse, tally, chunk and result encoding,
# cutting, merging), with allocations; a minute on two cores.
MICRO_BENCH_PKGS := ./pkg/census/ ./pkg/censusgen/ ./pkg/tally/ ./pkg/schema/ \
	./services/reader/internal/chunker/ ./services/computer/internal/tabulate/ ./services/aggregator/internal/state/

.PHONY: bench-micro
bench-micro: ## Run the Go micro-benchmarks of the hot paths (-benchmem).
	go test -run '^$$' -bench . -benchmem $(MICRO_BENCH_PKGS)
