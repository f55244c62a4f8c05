#!/usr/bin/env bash
# Runs prometheus-operator on this machine, outside the cluster, against the
# local control plane of scripts/kube-local.sh, and a Prometheus resource
# configured as kube-prometheus-stack configures its own: it selects the
# PodMonitors, ServiceMonitors and PrometheusRules labelled
# release=$PROMETHEUS_RELEASE in every namespace.
#
# The operator, its config reloader and a relay are built once from
# tools/prometheus-operator/go.mod into the cache, and Prometheus from
# tools/prometheus/go.mod. The operator's CRDs are applied from that module's
# example/prometheus-operator-crd-full in the module cache. The Prometheus
# pod's two images are built here as OCI layouts and imported into the node:
# Prometheus under quay.io/prometheus/prometheus:<its version>, and the
# reloader under quay.io/prometheus-operator/prometheus-config-reloader:<operator version>.
#
# Prometheus is built from source, not taken from Debian: Debian 12's
# prometheus (2.42) is built without Kubernetes service discovery and rejects
# the operator's kubernetes_sd_configs ("field kubernetes_sd_configs not found
# in type config.ScrapeConfig"). The build keeps only the Kubernetes and file
# discovery (build tags remove_all_sd,enable_kubernetes_sd) and takes several
# minutes the first time.
#
# The API server listens on 127.0.0.1 only, which pods cannot reach; the relay
# (apiforward) listens on the node's bridge address and passes connections on,
# and the Prometheus pod resolves "kubernetes" (a name in the API server's
# certificate) to that address.
#
#   scripts/prometheus-operator-local.sh install   build the binaries and images into the cache
#   scripts/prometheus-operator-local.sh start     apply the CRDs, import the images, start the
#                                                  relay and the operator, create the Prometheus
#                                                  and wait until its pod is Ready
#   scripts/prometheus-operator-local.sh env       print export PROMETHEUS_URL=http://<pod IP>:9090
#   scripts/prometheus-operator-local.sh stop      delete the Prometheus, stop the operator and the relay
#   scripts/prometheus-operator-local.sh status    each process's state; exit 0 if all are up
#
# Environment:
#   PROMETHEUS_RELEASE               kube-prometheus-stack: the release label selected
#   PROMETHEUS_NAMESPACE             monitoring
#   PROMETHEUS_SCRAPE_INTERVAL       5s, PROMETHEUS_EVALUATION_INTERVAL 5s
#   PROMETHEUS_OPERATOR_LOCAL_DIR    ${TMPDIR:-/tmp}/kafka-scale-prometheus-operator: logs/, run/
#   PROMETHEUS_OPERATOR_PORT         18090: the operator's metrics and health, on 127.0.0.1
#   PROMETHEUS_APIFORWARD_PORT       18091: the relay, on the node's bridge address
#   KUBE_APISERVER_PORT              6443: where the relay sends to (kube-local.sh's variable)
#   PROMETHEUS_OPERATOR_LOCAL_START_TIMEOUT 180 s, PROMETHEUS_OPERATOR_LOCAL_STOP_TIMEOUT 20 s
#   KAFKA_SCALE_CACHE                ${XDG_CACHE_HOME:-$HOME/.cache}/kafka-scale: the build goes to
#                                    prometheus-operator/<the go.sum files' sha256> (bin/, images/)
set -euo pipefail

prog=prometheus-operator-local
# shellcheck source-path=SCRIPTDIR source=lib/local.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/local.sh"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
module=$root/tools/prometheus-operator
prom_module=$root/tools/prometheus

export GOWORK=off

operator_version=$(go -C "$module" list -m -f '{{.Version}}' github.com/prometheus-operator/prometheus-operator)
# The Go module's v0.3MM.P is Prometheus's release 3.MM.P.
prom_module_version=$(go -C "$prom_module" list -m -f '{{.Version}}' github.com/prometheus/prometheus)
[[ $prom_module_version =~ ^v0\.3([0-9][0-9])\.([0-9]+)$ ]] ||
	die "tools/prometheus pins github.com/prometheus/prometheus $prom_module_version, not a v0.3MM.P version"
prometheus_version=v3.$((10#${BASH_REMATCH[1]})).${BASH_REMATCH[2]}

cache=$(absolute "${KAFKA_SCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-scale}")
stamp=$(cat "$module/go.sum" "$module/apiforward/main.go" "$prom_module/go.sum" | sha256sum | cut -c1-16)
pdir=$cache/prometheus-operator/$stamp
bin=$pdir/bin
images=$pdir/images

dir=$(absolute "${PROMETHEUS_OPERATOR_LOCAL_DIR:-${TMPDIR:-/tmp}/kafka-scale-prometheus-operator}")
logs=$dir/logs
run=$dir/run

operator_port=$(port_var PROMETHEUS_OPERATOR_PORT 18090)
forward_port=$(port_var PROMETHEUS_APIFORWARD_PORT 18091)
api_port=$(port_var KUBE_APISERVER_PORT 6443)
node_ip=10.244.0.1

release=${PROMETHEUS_RELEASE:-kube-prometheus-stack}
namespace=${PROMETHEUS_NAMESPACE:-monitoring}
scrape_interval=${PROMETHEUS_SCRAPE_INTERVAL:-5s}
evaluation_interval=${PROMETHEUS_EVALUATION_INTERVAL:-5s}
start_timeout=${PROMETHEUS_OPERATOR_LOCAL_START_TIMEOUT:-180}
stop_timeout=${PROMETHEUS_OPERATOR_LOCAL_STOP_TIMEOUT:-20}
[[ $start_timeout =~ ^[0-9]+$ ]] || die "PROMETHEUS_OPERATOR_LOCAL_START_TIMEOUT=$start_timeout is not a number of seconds"
[[ $stop_timeout =~ ^[0-9]+$ ]] || die "PROMETHEUS_OPERATOR_LOCAL_STOP_TIMEOUT=$stop_timeout is not a number of seconds"
lock_wait=$((start_timeout + stop_timeout * 2 + 30))

components=(apiforward prometheus-operator)

# --- install -----------------------------------------------------------------

prometheus_image() { echo "quay.io/prometheus/prometheus:$prometheus_version"; }
reloader_image() { echo "quay.io/prometheus-operator/prometheus-config-reloader:$operator_version"; }

# Writes a blob of the layout from a file; prints its digest's hex and size.
oci_blob() { # layout-dir file
	local h
	h=$(sha256sum "$2" | cut -d' ' -f1)
	mv -f "$2" "$1/blobs/sha256/$h"
	echo "$h $(stat -c %s "$1/blobs/sha256/$h")"
}

# An OCI image layout of one layer, the files of rootfs, with fixed times and
# owners, as scripts/kube-local.sh builds its pause image.
oci_image() { # rootfs name entrypoint out.tar
	local rootfs=$1 name=$2 entry=$3 out=$4 w arch layer config manifest
	local tarflags=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner)
	arch=$(go env GOARCH)
	w=$(mktemp -d "$pdir/oci.XXXXXX")
	mkdir -p "$w/oci/blobs/sha256"
	tar "${tarflags[@]}" -C "$rootfs" -cf "$w/layer" .
	read -r -a layer < <(oci_blob "$w/oci" "$w/layer")
	printf '{"architecture":"%s","os":"linux","config":{"User":"65534:65534","Entrypoint":["%s"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$arch" "$entry" "${layer[0]}" >"$w/config"
	read -r -a config < <(oci_blob "$w/oci" "$w/config")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"${config[0]}" "${config[1]}" "${layer[0]}" "${layer[1]}" >"$w/manifest"
	read -r -a manifest < <(oci_blob "$w/oci" "$w/manifest")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
		"${manifest[0]}" "${manifest[1]}" "$arch" "$name" "${name##*:}" >"$w/oci/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$w/oci/oci-layout"
	tar "${tarflags[@]}" -C "$w/oci" -cf "$out.tmp" oci-layout index.json blobs
	mv -f "$out.tmp" "$out"
	rm -rf "$w"
}

# The Prometheus image: the static binary, /prometheus for the TSDB,
# writable by the pod's user.
build_prometheus_image() {
	local r
	r=$(mktemp -d "$pdir/rootfs.XXXXXX")
	chmod 755 "$r" # mktemp's 0700 would keep the pod's non-root user out of /
	mkdir -p "$r/bin" "$r/etc/prometheus" "$r/prometheus" "$r/tmp"
	chmod 1777 "$r/tmp" "$r/prometheus"
	cp "$bin/prometheus" "$r/bin/prometheus"
	oci_image "$r" "$(prometheus_image)" /bin/prometheus "$images/prometheus.tar"
	rm -rf "$r"
}

build_reloader_image() {
	local r
	r=$(mktemp -d "$pdir/rootfs.XXXXXX")
	chmod 755 "$r"
	mkdir -p "$r/bin" "$r/tmp"
	chmod 1777 "$r/tmp"
	cp "$bin/prometheus-config-reloader" "$r/bin/prometheus-config-reloader"
	oci_image "$r" "$(reloader_image)" /bin/prometheus-config-reloader "$images/prometheus-config-reloader.tar"
	rm -rf "$r"
}

built() {
	[ -x "$bin/prometheus-operator" ] && [ -x "$bin/prometheus-config-reloader" ] && [ -x "$bin/apiforward" ] &&
		[ -x "$bin/prometheus" ] && [ -s "$images/prometheus.tar" ] && [ -s "$images/prometheus-config-reloader.tar" ]
}

# Prometheus $prometheus_version from tools/prometheus: static, with its
# version stamped as the release's build does (a plain go build leaves it
# empty, in --version and /api/v1/status/buildinfo), and without the web
# UI's assets (the tests use the API).
build_prometheus() {
	log "building Prometheus $prometheus_version ($prom_module_version of its Go module) into $bin; the first build takes 10-20 minutes"
	local t0=$SECONDS tmp=$pdir/prometheus.tmp
	local v=github.com/prometheus/common/version
	local ldflags="-s -w -X $v.Version=${prometheus_version#v} -X $v.Revision=$prom_module_version -X $v.Branch=HEAD -X $v.BuildUser=kafka-scale -X $v.BuildDate=19700101-00:00:00"
	rm -f "$tmp"
	mkdir -p "$bin"
	if ! (cd "$prom_module" && nice -n 10 env CGO_ENABLED=0 go build -mod=readonly -trimpath -buildvcs=false \
		-tags remove_all_sd,enable_kubernetes_sd -ldflags "$ldflags" -o "$tmp" github.com/prometheus/prometheus/cmd/prometheus) \
		>"$pdir/prometheus-build.log" 2>&1; then
		tail -n 30 "$pdir/prometheus-build.log" >&2
		rm -f "$tmp"
		die "building Prometheus failed; the output is in $pdir/prometheus-build.log"
	fi
	"$tmp" --version >/dev/null 2>&1 || die "the Prometheus built ($tmp) does not run"
	mv -f "$tmp" "$bin/prometheus"
	log "built in $((SECONDS - t0)) s"
}

cmd_install() {
	mkdir -p "$pdir"
	exec 8>"$pdir/.install.lock"
	flock -w 3600 8 || die "timed out waiting for another install ($pdir/.install.lock)"
	if built; then
		exec 8>&-
		return 0
	fi
	if ! [ -x "$bin/prometheus-operator" ] || ! [ -x "$bin/prometheus-config-reloader" ] || ! [ -x "$bin/apiforward" ]; then
		log "building prometheus-operator $operator_version (operator, config reloader) and apiforward into $bin; the first build takes several minutes"
		local t0=$SECONDS tmp=$pdir/bin.tmp
		local ldflags="-s -w -X github.com/prometheus/common/version.Version=${operator_version#v} -X github.com/prometheus/common/version.Revision=$operator_version"
		rm -rf "$tmp"
		mkdir -p "$tmp"
		if ! (cd "$module" && nice -n 10 env CGO_ENABLED=0 go build -mod=readonly -trimpath -buildvcs=false -ldflags "$ldflags" \
			-o "$tmp/" github.com/prometheus-operator/prometheus-operator/cmd/operator \
			github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader ./apiforward) >"$pdir/build.log" 2>&1; then
			tail -n 30 "$pdir/build.log" >&2
			rm -rf "$tmp"
			die "building prometheus-operator failed; the output is in $pdir/build.log"
		fi
		mkdir -p "$bin"
		mv -f "$tmp/operator" "$bin/prometheus-operator"
		mv -f "$tmp/prometheus-config-reloader" "$tmp/apiforward" "$bin/"
		rmdir "$tmp"
		log "built in $((SECONDS - t0)) s"
	fi
	if ! [ -x "$bin/prometheus" ]; then
		build_prometheus
	fi
	mkdir -p "$images"
	build_prometheus_image
	build_reloader_image
	exec 8>&-
}

# --- cluster -----------------------------------------------------------------

use_cluster() {
	if [ -z "${KUBECONFIG:-}" ]; then
		eval "$("$here/kube-local.sh" env)"
	fi
	[ -f "$KUBECONFIG" ] || die "KUBECONFIG=$KUBECONFIG does not exist: start a cluster (scripts/kube-local.sh start)"
	command -v kubectl >/dev/null 2>&1 || die "kubectl not found on PATH"
	kubeconfig=$(absolute "$KUBECONFIG")
}

kubectl_() { kubectl --kubeconfig="$kubeconfig" --request-timeout=20s "$@"; }

crd_dir() {
	echo "$(go -C "$module" list -m -f '{{.Dir}}' github.com/prometheus-operator/prometheus-operator)/example/prometheus-operator-crd-full"
}

# What kube-prometheus-stack's own Prometheus resource selects, and the RBAC
# its service account is given.
manifests() {
	cat <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $namespace
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: prometheus
  namespace: $namespace
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kafka-scale-local-prometheus
rules:
  - apiGroups: [""]
    resources: [nodes, nodes/metrics, services, endpoints, pods]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [get, list, watch]
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get]
  - nonResourceURLs: [/metrics]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kafka-scale-local-prometheus
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: kafka-scale-local-prometheus
subjects:
  - kind: ServiceAccount
    name: prometheus
    namespace: $namespace
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: prometheus
  namespace: $namespace
spec:
  image: $(prometheus_image)
  version: $prometheus_version
  imagePullPolicy: Never
  replicas: 1
  serviceAccountName: prometheus
  scrapeInterval: $scrape_interval
  evaluationInterval: $evaluation_interval
  podMonitorSelector:
    matchLabels: {release: $release}
  podMonitorNamespaceSelector: {}
  serviceMonitorSelector:
    matchLabels: {release: $release}
  serviceMonitorNamespaceSelector: {}
  ruleSelector:
    matchLabels: {release: $release}
  ruleNamespaceSelector: {}
  hostAliases:
    - ip: $node_ip
      hostnames: [kubernetes]
  containers:
    - name: prometheus
      env:
        - {name: KUBERNETES_SERVICE_HOST, value: kubernetes}
        - {name: KUBERNETES_SERVICE_PORT, value: "$forward_port"}
EOF
}

prometheus_pod_ip() {
	kubectl_ -n "$namespace" get pod prometheus-prometheus-0 -o 'jsonpath={.status.podIP}'
}

prometheus_ready() {
	[ "$(kubectl_ -n "$namespace" get pod prometheus-prometheus-0 \
		-o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# --- processes ---------------------------------------------------------------

binary() { echo "$bin/$1"; }

ours() { # component pid
	local args
	[ -r "/proc/$2/cmdline" ] || return 1
	args=$(tr '\0' '\n' <"/proc/$2/cmdline" 2>/dev/null) || return 1
	[ "$(head -n 1 <<<"$args")" = "$(binary "$1")" ]
}

operator_healthy() {
	curl -fsS --max-time 2 "http://127.0.0.1:$operator_port/healthz" >/dev/null 2>&1
}

cmd_start() {
	built || cmd_install
	command -v curl >/dev/null 2>&1 || die "curl not found (Debian package curl)"
	use_cluster
	kubectl_ get --raw /readyz >/dev/null 2>&1 || die "the API server of $kubeconfig does not answer"
	lock_dir "$lock_wait"
	mkdir -p "$logs" "$run"
	deadline=$((SECONDS + start_timeout))
	local t0=$SECONDS pid
	log "applying the CRDs of prometheus-operator $operator_version from $(crd_dir)"
	kubectl_ apply --server-side --force-conflicts --field-manager=prometheus-operator-local -f "$(crd_dir)" >/dev/null ||
		fail "applying the CRDs failed"
	kubectl_ wait --for=condition=Established --timeout=60s -f "$(crd_dir)" >/dev/null || fail "the CRDs are not established"
	"$here/kube-local.sh" import "$images/prometheus.tar" "$images/prometheus-config-reloader.tar" >/dev/null ||
		fail "importing the Prometheus images failed"
	if pid=$(running_pid apiforward); then
		log "apiforward already running (pid $pid)"
	else
		port_free "$forward_port" "apiforward" PROMETHEUS_APIFORWARD_PORT
		launch apiforward -listen "$node_ip:$forward_port" -target "127.0.0.1:$api_port"
	fi
	if pid=$(running_pid prometheus-operator); then
		log "prometheus-operator already running (pid $pid)"
	else
		port_free "$operator_port" "prometheus-operator" PROMETHEUS_OPERATOR_PORT
		# It reads the cluster from $KUBECONFIG; it has no flag for it.
		KUBECONFIG=$kubeconfig launch prometheus-operator --web.listen-address="127.0.0.1:$operator_port" \
			--prometheus-config-reloader="$(reloader_image)" \
			--prometheus-default-base-image=quay.io/prometheus/prometheus \
			--log-level=info --log-format=logfmt
	fi
	wait_for "prometheus-operator /healthz" operator_healthy
	kubectl_ apply --server-side --force-conflicts --field-manager=prometheus-operator-local -f - <<<"$(manifests)" >/dev/null ||
		fail "creating the Prometheus failed"
	wait_for "pod $namespace/prometheus-prometheus-0 Ready" prometheus_ready
	log "ready in $((SECONDS - t0)) s: Prometheus on http://$(prometheus_pod_ip):9090; logs in $logs"
}

cmd_env() {
	use_cluster
	echo "export PROMETHEUS_URL=http://$(prometheus_pod_ip):9090"
}

cmd_stop() {
	[ -d "$dir" ] || return 0
	lock_dir "$lock_wait"
	(use_cluster >/dev/null 2>&1 &&
		kubectl_ -n "$namespace" delete prometheus prometheus --ignore-not-found --wait=false >/dev/null 2>&1) || true
	stop_components prometheus-operator apiforward
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
	return $ok
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start ;;
env) cmd_env ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	echo "usage: $0 install|start|env|stop|status" >&2
	exit 2
	;;
esac
