#!/usr/bin/env bash
# Runs KEDA's operator and metrics adapter on this machine, outside the
# cluster, against the local control plane of scripts/kube-local.sh: the
# operator turns ScaledObjects into HorizontalPodAutoscalers and the adapter
# serves their external metrics (the Kafka trigger's lag) to the HPA
# controller through the API server's aggregation layer.
#
# Both are built once from the Go module proxy through a wrapper module
# generated in the cache (KEDA's own go.mod has a replace and an exclude that
# "go install" refuses), and kept there.
#
#   scripts/keda-local.sh install   build the operator and the adapter into the cache
#   scripts/keda-local.sh start     start both (building them first if needed),
#                                   register the adapter as
#                                   v1beta1.external.metrics.k8s.io and wait
#                                   until the API server finds it Available
#   scripts/keda-local.sh stop      unregister the adapter, stop both
#   scripts/keda-local.sh status    print each process's state and the
#                                   APIService's; exit 0 if all are up
#
# The cluster is $KUBECONFIG's, else the one scripts/kube-local.sh runs
# (with the same KUBE_LOCAL_DIR). The API server needs the aggregation
# layer's front-proxy flags, which kube-local.sh sets.
#
# Environment:
#   KEDA_VERSION                 v2.21.0
#   KEDA_LOCAL_DIR               ${TMPDIR:-/tmp}/kafka-scale-keda: certs/, logs/<process>.log, run/<process>.pid
#   KEDA_NAMESPACE               keda: KEDA's own namespace (POD_NAMESPACE, KEDA_CLUSTER_OBJECT_NAMESPACE)
#   KEDA_ADAPTER_PORT            16443: the metrics adapter's HTTPS port, which the APIService points at
#   KEDA_ADAPTER_HTTP_PORT       18082: the adapter's metrics
#   KEDA_OPERATOR_METRICS_PORT   18080, KEDA_OPERATOR_HEALTH_PORT 18081
#   KEDA_OPERATOR_GRPC_PORT      19666: the operator's metrics service, which the adapter asks
#   KEDA_LOCAL_START_TIMEOUT     120 s, KEDA_LOCAL_STOP_TIMEOUT 20 s
#   KAFKA_SCALE_CACHE            ${XDG_CACHE_HOME:-$HOME/.cache}/kafka-scale: the build goes to
#                                keda/$KEDA_VERSION (module/, bin/keda-operator, bin/keda-adapter)
set -euo pipefail

prog=keda-local
# shellcheck source-path=SCRIPTDIR source=lib/local.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/local.sh"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

KEDA_VERSION=${KEDA_VERSION:-v2.21.0}
[[ $KEDA_VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "KEDA_VERSION=$KEDA_VERSION is not vMAJOR.MINOR.PATCH"

cache=$(absolute "${KAFKA_SCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-scale}")
kdir=$cache/keda/$KEDA_VERSION
module=$kdir/module
bin=$kdir/bin

dir=$(absolute "${KEDA_LOCAL_DIR:-${TMPDIR:-/tmp}/kafka-scale-keda}")
certs=$dir/certs
logs=$dir/logs
run=$dir/run

# KEDA's defaults clash with the API server's 6443 and with each other's 8080.
adapter_port=$(port_var KEDA_ADAPTER_PORT 16443)
adapter_http_port=$(port_var KEDA_ADAPTER_HTTP_PORT 18082)
operator_metrics_port=$(port_var KEDA_OPERATOR_METRICS_PORT 18080)
operator_health_port=$(port_var KEDA_OPERATOR_HEALTH_PORT 18081)
operator_grpc_port=$(port_var KEDA_OPERATOR_GRPC_PORT 19666)
dups=$(printf '%s\n' "$adapter_port" "$adapter_http_port" "$operator_metrics_port" "$operator_health_port" \
	"$operator_grpc_port" | sort | uniq -d)
[ -z "$dups" ] || die "port $dups is given to two servers; see KEDA_*_PORT"

namespace=${KEDA_NAMESPACE:-keda}
start_timeout=${KEDA_LOCAL_START_TIMEOUT:-120}
stop_timeout=${KEDA_LOCAL_STOP_TIMEOUT:-20}
[[ $start_timeout =~ ^[0-9]+$ ]] || die "KEDA_LOCAL_START_TIMEOUT=$start_timeout is not a number of seconds"
[[ $stop_timeout =~ ^[0-9]+$ ]] || die "KEDA_LOCAL_STOP_TIMEOUT=$stop_timeout is not a number of seconds"
# How long a start or stop waits for another on the same directory.
lock_wait=$((start_timeout + stop_timeout * 2 + 30))

components=(keda-operator keda-adapter)
apiservice=v1beta1.external.metrics.k8s.io

export GOWORK=off

# --- install -----------------------------------------------------------------

built() {
	[ -x "$bin/keda-operator" ] && [ -x "$bin/keda-adapter" ] &&
		[ "$(cat "$bin/.stamp" 2>/dev/null)" = "$(module_stamp)" ]
}

module_stamp() { cat "$module/go.mod" "$module/go.sum" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# The wrapper module: KEDA as a dependency, with the replace and exclude
# directives of KEDA's own go.mod, which only apply in the main module.
write_module() {
	local src
	[ -f "$module/go.mod" ] && grep -qF "github.com/kedacore/keda/v2 $KEDA_VERSION" "$module/go.mod" &&
		[ -s "$module/go.sum" ] && return 0
	log "resolving github.com/kedacore/keda/v2@$KEDA_VERSION in $module"
	src=$(go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" |
		sed -nE 's/^[[:space:]]*"GoMod": "(.*)",?$/\1/p')
	[ -f "$src" ] || die "go mod download github.com/kedacore/keda/v2@$KEDA_VERSION gave no go.mod"
	rm -rf "$module"
	mkdir -p "$module"
	{
		echo "// Generated by kafka-scale's scripts/keda-local.sh: builds KEDA's operator and adapter."
		echo "module kafka-scale.local/keda"
		echo
		grep -E '^go [0-9]' "$src"
		echo
		echo "require github.com/kedacore/keda/v2 $KEDA_VERSION"
		echo
		# KEDA's own replace and exclude lines, single or in blocks.
		awk '/^(replace|exclude)[[:space:]]*\($/ {block=1; print; next}
			block {print; if ($0 ~ /^\)/) block=0; next}
			/^(replace|exclude)[[:space:]]/ {print}' "$src"
	} >"$module/go.mod"
	if ! go -C "$module" get -tool "github.com/kedacore/keda/v2/cmd/operator@$KEDA_VERSION" \
		"github.com/kedacore/keda/v2/cmd/adapter@$KEDA_VERSION" >"$kdir/get.log" 2>&1; then
		tail -n 30 "$kdir/get.log" >&2
		die "go get of KEDA's commands failed; the output is in $kdir/get.log"
	fi
}

cmd_install() {
	command -v go >/dev/null 2>&1 || die "go not found: building KEDA needs Go"
	mkdir -p "$kdir"
	exec 8>"$kdir/.install.lock"
	flock -w 3600 8 || die "timed out waiting for another install ($kdir/.install.lock)"
	write_module
	if built; then
		exec 8>&-
		return 0
	fi
	log "building KEDA $KEDA_VERSION (operator, adapter) into $bin; the first build takes several minutes"
	local t0=$SECONDS tmp=$kdir/bin.tmp v=${KEDA_VERSION#v}
	local ldflags="-s -w -X github.com/kedacore/keda/v2/version.Version=$v -X github.com/kedacore/keda/v2/version.GitCommit=$KEDA_VERSION"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	if ! nice -n 10 go build -C "$module" -mod=readonly -trimpath -buildvcs=false -ldflags "$ldflags" \
		-o "$tmp/" github.com/kedacore/keda/v2/cmd/operator github.com/kedacore/keda/v2/cmd/adapter \
		>"$kdir/build.log" 2>&1; then
		tail -n 30 "$kdir/build.log" >&2
		rm -rf "$tmp"
		die "building KEDA failed; the output is in $kdir/build.log"
	fi
	mkdir -p "$bin"
	mv -f "$tmp/operator" "$bin/keda-operator"
	mv -f "$tmp/adapter" "$bin/keda-adapter"
	rmdir "$tmp"
	module_stamp >"$bin/.stamp"
	exec 8>&-
	log "built KEDA $KEDA_VERSION in $((SECONDS - t0)) s"
}

# --- cluster -----------------------------------------------------------------

# The cluster: $KUBECONFIG, else scripts/kube-local.sh's (whose env also puts
# its kubectl on PATH).
use_cluster() {
	if [ -z "${KUBECONFIG:-}" ]; then
		eval "$("$here/kube-local.sh" env)"
	fi
	[ -f "$KUBECONFIG" ] || die "KUBECONFIG=$KUBECONFIG does not exist: start a cluster (scripts/kube-local.sh start)"
	command -v kubectl >/dev/null 2>&1 || die "kubectl not found on PATH"
	kubeconfig=$(absolute "$KUBECONFIG")
}

kubectl_() { kubectl --kubeconfig="$kubeconfig" --request-timeout=10s "$@"; }

# The adapter lives outside the cluster, on localhost: Endpoints refuse a
# loopback address, but an ExternalName Service does not, and the API server
# resolves it when proxying to the APIService.
registration() {
	cat <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $namespace
---
apiVersion: v1
kind: Service
metadata:
  name: keda-operator-metrics-apiserver
  namespace: $namespace
  labels: {app.kubernetes.io/managed-by: keda-local}
spec:
  type: ExternalName
  externalName: localhost
  ports:
    - name: https
      port: $adapter_port
      protocol: TCP
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: $apiservice
  labels: {app.kubernetes.io/managed-by: keda-local}
spec:
  group: external.metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service:
    name: keda-operator-metrics-apiserver
    namespace: $namespace
    port: $adapter_port
EOF
}

apiservice_available() {
	[ "$(kubectl_ get apiservice "$apiservice" \
		-o 'jsonpath={.status.conditions[?(@.type=="Available")].status}' 2>/dev/null)" = True ]
}

# --- processes ---------------------------------------------------------------

binary() { echo "$bin/$1"; }

# Whether pid is the component started by this script for this directory.
ours() { # component pid
	local args
	[ -r "/proc/$2/cmdline" ] || return 1
	args=$(tr '\0' '\n' <"/proc/$2/cmdline" 2>/dev/null) || return 1
	[ "$(head -n 1 <<<"$args")" = "$(binary "$1")" ] && grep -qF -- "$dir/" <<<"$args"
}

# One certificate for both ends of the operator-adapter gRPC link (mutual
# TLS: each reads ca.crt, tls.crt and tls.key from its --cert-dir) and for
# the adapter's HTTPS server, which the API server reaches without verifying
# (insecureSkipTLSVerify: the APIService has no caBundle to check).
make_certs() {
	[ -f "$certs/.complete" ] && return 0
	log "generating certificates in $certs"
	rm -rf "$certs"
	mkdir -p "$certs"
	chmod 700 "$certs"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$certs/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$certs/ca.key" -subj "/CN=keda-local-ca" -days 3650 -out "$certs/ca.crt" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$certs/tls.key" 2>/dev/null
	openssl req -new -key "$certs/tls.key" -subj "/CN=localhost" |
		openssl x509 -req -CA "$certs/ca.crt" -CAkey "$certs/ca.key" -CAcreateserial -days 3650 \
			-extfile <(printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
				"extendedKeyUsage=serverAuth,clientAuth" \
				"subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:keda-operator,DNS:keda-operator.$namespace.svc") \
			-out "$certs/tls.crt" 2>/dev/null
	touch "$certs/.complete"
}

# Both run with the kubeconfig's credentials and watch every namespace; the
# cluster-object namespace stands in for the pod's own, which the operator
# would read from a service-account file.
keda_env() {
	export WATCH_NAMESPACE="" POD_NAMESPACE=$namespace KEDA_CLUSTER_OBJECT_NAMESPACE=$namespace
	export KUBECONFIG=$kubeconfig
}

start_operator() {
	port_free "$operator_metrics_port" "keda-operator metrics" KEDA_OPERATOR_METRICS_PORT
	port_free "$operator_health_port" "keda-operator health" KEDA_OPERATOR_HEALTH_PORT
	port_free "$operator_grpc_port" "keda-operator gRPC" KEDA_OPERATOR_GRPC_PORT
	launch keda-operator --leader-elect=false --zap-log-level=info --zap-encoder=console \
		--metrics-bind-address="127.0.0.1:$operator_metrics_port" \
		--health-probe-bind-address="127.0.0.1:$operator_health_port" \
		--metrics-service-bind-address="127.0.0.1:$operator_grpc_port" \
		--cert-dir="$certs" --ca-dir="$certs" --enable-cert-rotation=false
}

start_adapter() {
	port_free "$adapter_port" "keda-adapter HTTPS" KEDA_ADAPTER_PORT
	port_free "$adapter_http_port" "keda-adapter metrics" KEDA_ADAPTER_HTTP_PORT
	launch keda-adapter --secure-port="$adapter_port" --bind-address=127.0.0.1 --port="$adapter_http_port" \
		--cert-dir="$certs" --tls-cert-file="$certs/tls.crt" --tls-private-key-file="$certs/tls.key" \
		--authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
		--lister-kubeconfig="$kubeconfig" --kubeconfig="$kubeconfig" \
		--metrics-service-address="127.0.0.1:$operator_grpc_port" --v=0
}

operator_healthy() {
	curl -fsS --max-time 2 "http://127.0.0.1:$operator_health_port/healthz" >/dev/null 2>&1
}

cmd_start() {
	built || cmd_install
	command -v openssl >/dev/null 2>&1 || die "openssl not found (Debian package openssl)"
	command -v curl >/dev/null 2>&1 || die "curl not found (Debian package curl)"
	use_cluster
	kubectl_ get --raw /readyz >/dev/null 2>&1 || die "the API server of $kubeconfig does not answer"
	lock_dir "$lock_wait"
	mkdir -p "$logs" "$run"
	make_certs
	keda_env
	deadline=$((SECONDS + start_timeout))
	local t0=$SECONDS pid
	log "starting KEDA $KEDA_VERSION against $kubeconfig (run directory $dir)"
	kubectl_ apply --server-side --force-conflicts --field-manager=keda-local -f - <<<"$(registration)" >/dev/null ||
		fail "registering $apiservice failed"
	if pid=$(running_pid keda-operator); then
		log "keda-operator already running (pid $pid)"
	else
		start_operator
	fi
	wait_for "keda-operator /healthz" operator_healthy
	if pid=$(running_pid keda-adapter); then
		log "keda-adapter already running (pid $pid)"
	else
		start_adapter
	fi
	wait_for "APIService $apiservice Available" apiservice_available
	log "ready in $((SECONDS - t0)) s; logs in $logs"
}

# --- stop, status ------------------------------------------------------------

# Unregisters the adapter first: an APIService nobody answers makes discovery
# fail for every client (helm, kubectl) with "unable to retrieve the complete
# list of server APIs". Best effort: the cluster may be gone already.
unregister() {
	(use_cluster >/dev/null 2>&1 &&
		kubectl_ delete apiservice "$apiservice" --ignore-not-found --wait=false >/dev/null 2>&1) || true
}

stop_all() {
	unregister
	stop_components keda-adapter keda-operator
}

cmd_stop() {
	[ -d "$dir" ] || return 0
	lock_dir "$lock_wait"
	stop_all
}

cmd_status() {
	local c pid ok=0
	for c in "${components[@]}"; do
		if pid=$(running_pid "$c"); then
			echo "$c running (pid $pid)"
		else
			echo "$c stopped"
			ok=1
		fi
	done
	if (use_cluster 2>/dev/null && apiservice_available); then
		echo "$apiservice Available"
	else
		echo "$apiservice not available"
		ok=1
	fi
	return $ok
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	echo "usage: $0 install|start|stop|status" >&2
	exit 2
	;;
esac
