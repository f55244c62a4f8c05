#!/usr/bin/env bash
# Runs a real Kubernetes cluster of one node on this machine for the charts'
# tests: etcd, kube-apiserver, kube-controller-manager and kube-scheduler on
# 127.0.0.1, and a real node: containerd with runc, the CNI bridge plugin on the
# pod bridge ksbr0 (10.244.0.1/24), the kubelet and kube-proxy. Pods are real
# containers from images imported into containerd (no registry); a guard in
# iptables' mangle FORWARD chain drops whatever pods send off the bridge, so no
# packet of theirs leaves the machine. The API server has the aggregation
# layer's front-proxy set up (for KEDA's metrics adapter), and the CRDs the
# charts use are installed: prometheus-operator's PodMonitor, ServiceMonitor and
# PrometheusRule, KEDA's, and Strimzi's KafkaTopic and KafkaUser (Strimzi's
# own, from its io.strimzi:api artifact: lib/strimzi-crds.sh).
#
# etcd, containerd, runc and the CNI plugins are Debian's. The Kubernetes
# binaries are built once from the module in scripts/kube-local (go.mod pins the
# version), helm with "go install", and the pods' sandbox image from
# scripts/kube-local/pause, all into a cache outside the repository. The node
# needs root, and one runs per machine (a lock in /run).
#
#   scripts/kube-local.sh install   build and fetch everything into the cache
#   scripts/kube-local.sh start     start the cluster, or whatever part of it
#                                   is not running; prints the env lines
#   scripts/kube-local.sh import FILE...
#                                   import image tarballs (OCI or docker
#                                   archives) into the node's containerd
#   scripts/kube-local.sh stop      stop everything and tear the node down:
#                                   containers, mounts, bridge, rules, cgroups
#   scripts/kube-local.sh check     print what a node left behind on this
#                                   machine; exit 1 if anything is left
#   scripts/kube-local.sh status    print each process's state; exit 0 if all
#                                   run and the API server is ready, else 1
#   scripts/kube-local.sh env       print "export KUBECONFIG=..." and PATH, for
#                                   eval "$(scripts/kube-local.sh env)"
#   scripts/kube-local.sh clean     stop, then delete the run directory
#
# Environment: see scripts/README.md.
set -euo pipefail

prog=kube-local
# shellcheck source-path=SCRIPTDIR source=lib/local.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/local.sh"
# shellcheck source-path=SCRIPTDIR source=lib/strimzi-crds.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/strimzi-crds.sh"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=$here/kube-local

HELM_VERSION=${HELM_VERSION:-v3.22.0}
PROMETHEUS_OPERATOR_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.94.1}
KEDA_VERSION=${KEDA_VERSION:-v2.21.0}

# The Kubernetes version is the one module/go.mod requires; nothing else names it.
kube_version=$(sed -nE 's/^[[:space:]]*(require[[:space:]]+)?k8s\.io\/kubernetes[[:space:]]+(v[0-9][^[:space:]]*).*/\2/p' \
	"$module/go.mod" | head -n 1)
[[ $kube_version =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+$ ]] ||
	die "cannot read the k8s.io/kubernetes version from $module/go.mod"
kube_major=${BASH_REMATCH[1]}
kube_minor=${BASH_REMATCH[2]}

cache=$(absolute "${KAFKA_SCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-scale}")
kdir=$cache/kube/$kube_version
bin=$kdir/bin
pause_tar=$kdir/pause.oci.tar
crd_cache=$cache/kube/crds

dir=$(absolute "${KUBE_LOCAL_DIR:-${TMPDIR:-/tmp}/kafka-scale-kube}")
pki=$dir/pki
logs=$dir/logs
run=$dir/run
kubeconfig=$dir/kubeconfig
# Marks a directory as this script's, so that clean never deletes anything else.
marker=$dir/.kube-local

etcd_port=$(port_var KUBE_ETCD_PORT 2379)
etcd_peer_port=$(port_var KUBE_ETCD_PEER_PORT $((etcd_port + 1)))
api_port=$(port_var KUBE_APISERVER_PORT 6443)
cm_port=$(port_var KUBE_CONTROLLER_MANAGER_PORT 10257)
sched_port=$(port_var KUBE_SCHEDULER_PORT 10259)
kubelet_port=$(port_var KUBE_KUBELET_PORT 10250)
kubelet_healthz_port=$(port_var KUBE_KUBELET_HEALTHZ_PORT 10248)
proxy_healthz_port=$(port_var KUBE_PROXY_HEALTHZ_PORT 10256)
proxy_metrics_port=$(port_var KUBE_PROXY_METRICS_PORT 10249)
# containerd's streaming server (exec, attach, port-forward), on loopback; 0
# lets the kernel pick a free port.
stream_port=${KUBE_CONTAINERD_STREAM_PORT:-0}
[ "$stream_port" = 0 ] || stream_port=$(port_var KUBE_CONTAINERD_STREAM_PORT 0)
dups=$(printf '%s\n' "$etcd_port" "$etcd_peer_port" "$api_port" "$cm_port" "$sched_port" \
	"$kubelet_port" "$kubelet_healthz_port" "$proxy_healthz_port" "$proxy_metrics_port" "$stream_port" | grep -vx 0 | sort | uniq -d)
[ -z "$dups" ] || die "port $dups is given to two components; see the KUBE_*_PORT variables"

# The node. One per machine: the bridge, its address and the pod range are
# the machine's, and so are iptables and the cgroups.
node_name=${KUBE_LOCAL_NODE_NAME:-kafka-scale-node}
[[ $node_name =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] ||
	die "KUBE_LOCAL_NODE_NAME=$node_name is not a DNS label (lower-case letters, digits, -)"
bridge=ksbr0
node_ip=10.244.0.1
pod_cidr=10.244.0.0/24
cni_network=kafka-scale
pause_image=localhost/kafka-scale/pause:1
node_lock=/run/kafka-scale-kube-node.lock
# Marks the guard rules in iptables, so that stop and check find them.
guard_comment=kafka-scale-node-guard
ndir=$dir/node
containerd_sock=$ndir/containerd/containerd.sock

start_timeout=${KUBE_LOCAL_START_TIMEOUT:-120}
stop_timeout=${KUBE_LOCAL_STOP_TIMEOUT:-30}
[[ $start_timeout =~ ^[0-9]+$ ]] || die "KUBE_LOCAL_START_TIMEOUT=$start_timeout is not a number of seconds"
[[ $stop_timeout =~ ^[0-9]+$ ]] || die "KUBE_LOCAL_STOP_TIMEOUT=$stop_timeout is not a number of seconds"
# How long a start or stop waits for another on the same directory: a start,
# and a stop's three rounds of stop_components.
lock_wait=$((start_timeout + stop_timeout * 3 + 30))

# Started in this order, stopped in the reverse one.
components=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy)
kube_binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)

export GOWORK=off

# --- install -----------------------------------------------------------------

# Installs the Debian packages providing the missing commands (command=package).
need_debian() {
	local pair missing=()
	# A command, or an absolute path of a program (the CNI plugins are not on PATH).
	for pair in "$@"; do
		command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] ||
		die "missing Debian packages: ${missing[*]} (install them, e.g. with sudo apt-get install ${missing[*]}, or run scripts/install-deps.sh as root)"
	command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]}, and no apt-get to install them with"
	log "installing Debian packages: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Debian starts the etcd it installs, on the port ours wants; ours runs apart.
	if [[ " ${missing[*]} " == *" etcd-server "* ]] && command -v systemctl >/dev/null 2>&1 &&
		systemctl is-active --quiet etcd 2>/dev/null; then
		systemctl stop etcd || true
	fi
}

need_go() {
	command -v go >/dev/null 2>&1 || die "go not found: building the control plane needs Go 1.24 or later"
}

# The directory "go mod download" unpacks MODULE@VERSION into.
module_dir() {
	local out d
	out=$(go mod download -json "$1" 2>&1) || die "go mod download $1 failed: $out"
	d=$(sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p' <<<"$out")
	[ -d "$d" ] || die "go mod download $1 gave no directory: $out"
	echo "$d"
}

kube_stamp() { cat "$module/go.mod" "$module/go.sum" | sha256sum | cut -d' ' -f1; }

kube_built() {
	local b
	for b in "${kube_binaries[@]}"; do [ -x "$bin/$b" ] || return 1; done
	[ "$(cat "$bin/.kubernetes.stamp" 2>/dev/null)" = "$(kube_stamp)" ]
}

build_kube() {
	kube_built && return 0
	log "building Kubernetes $kube_version (${kube_binaries[*]}) into $bin; the first build takes several minutes"
	local t0=$SECONDS when ldflags="-s -w" p tmp=$kdir/bin.tmp
	# The module's own time as the build date, so that a rebuild is the same.
	when=$(go list -C "$module" -mod=readonly -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes) ||
		die "go list k8s.io/kubernetes in $module failed"
	# Without these the servers report v0.0.0-master+$Format:%H$, which kubectl
	# cannot parse and Helm rejects for charts that set kubeVersion.
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $p.gitVersion=$kube_version -X $p.gitMajor=$kube_major -X $p.gitMinor=$kube_minor"
		ldflags+=" -X $p.gitTreeState=clean -X $p.gitCommit= -X $p.buildDate=$when"
	done
	rm -rf "$tmp"
	mkdir -p "$tmp"
	local pkgs=()
	for p in "${kube_binaries[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$p"); done
	if ! nice -n 10 go build -C "$module" -mod=readonly -trimpath -buildvcs=false -ldflags "$ldflags" \
		-o "$tmp/" "${pkgs[@]}" >"$kdir/build.log" 2>&1; then
		tail -n 30 "$kdir/build.log" >&2
		rm -rf "$tmp"
		die "building Kubernetes failed; the output is in $kdir/build.log"
	fi
	mkdir -p "$bin"
	for p in "${kube_binaries[@]}"; do mv -f "$tmp/$p" "$bin/$p"; done
	rmdir "$tmp"
	kube_stamp >"$bin/.kubernetes.stamp"
	log "built Kubernetes $kube_version in $((SECONDS - t0)) s"
}

helm_pkg=helm.sh/helm/v3/cmd/helm@$HELM_VERSION
# Helm's release builds stamp the version; "helm version" says v3.NN otherwise.
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"

tool_current() { # name package@version [ldflags]
	[ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2${3:+ $3}" ]
}

install_go_tool() { # name package@version [ldflags]
	local name=$1 pkg=$2 ldflags="-s -w ${3:-}" t0=$SECONDS
	tool_current "$@" && return 0
	log "building $pkg into $bin"
	mkdir -p "$bin"
	if ! GOBIN=$bin nice -n 10 go install -trimpath -ldflags "$ldflags" "$pkg" >"$kdir/$name-build.log" 2>&1; then
		tail -n 30 "$kdir/$name-build.log" >&2
		die "go install $pkg failed; the output is in $kdir/$name-build.log"
	fi
	echo "$pkg${3:+ $3}" >"$bin/.$name.version"
	log "built $name in $((SECONDS - t0)) s"
}

# The pods' sandbox image: scripts/kube-local/pause, static, as the only file of
# an OCI image layout named $pause_image, which "ctr images import" takes
# without a registry. Every file in it is written with fixed times and owners,
# so the same source gives the same image.
pause_stamp() { { cat "$module/pause/main.go"; go version; } | sha256sum | cut -d' ' -f1; }

# Writes a blob of the layout from a file; prints its digest's hex and size.
oci_blob() { # layout-dir file
	local h
	h=$(sha256sum "$2" | cut -d' ' -f1)
	mv -f "$2" "$1/blobs/sha256/$h"
	echo "$h $(stat -c %s "$1/blobs/sha256/$h")"
}

build_pause() {
	[ -s "$pause_tar" ] && [ "$(cat "$pause_tar.stamp" 2>/dev/null)" = "$(pause_stamp)" ] && return 0
	local w=$kdir/pause.tmp arch layer config manifest tarflags=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner)
	arch=$(go env GOARCH)
	rm -rf "$w"
	mkdir -p "$w/rootfs" "$w/oci/blobs/sha256"
	CGO_ENABLED=0 go build -C "$module" -mod=readonly -trimpath -buildvcs=false -ldflags '-s -w' \
		-o "$w/rootfs/pause" ./pause || die "building $module/pause failed"
	tar "${tarflags[@]}" -C "$w/rootfs" -cf "$w/layer" pause
	read -r -a layer < <(oci_blob "$w/oci" "$w/layer")
	printf '{"architecture":"%s","os":"linux","config":{"User":"65535:65535","Entrypoint":["/pause"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$arch" "${layer[0]}" >"$w/config"
	read -r -a config < <(oci_blob "$w/oci" "$w/config")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"${config[0]}" "${config[1]}" "${layer[0]}" "${layer[1]}" >"$w/manifest"
	read -r -a manifest < <(oci_blob "$w/oci" "$w/manifest")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
		"${manifest[0]}" "${manifest[1]}" "$arch" "$pause_image" "${pause_image##*:}" >"$w/oci/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$w/oci/oci-layout"
	tar "${tarflags[@]}" -C "$w/oci" -cf "$pause_tar.tmp" oci-layout index.json blobs
	mv -f "$pause_tar.tmp" "$pause_tar"
	pause_stamp >"$pause_tar.stamp"
	rm -rf "$w"
}

install_crds() { # name module@version directory file...
	local name=$1 mod=$2 sub=$3 dst src f
	shift 3
	dst=$crd_cache/$name
	[ -f "$dst/.complete" ] && return 0
	src=$(module_dir "$mod")/$sub
	rm -rf "$dst"
	mkdir -p "$dst"
	for f in "$@"; do
		[ -f "$src/$f" ] || die "$mod has no $sub/$f"
		install -m 644 "$src/$f" "$dst/$f"
	done
	touch "$dst/.complete"
}

prometheus_crds=prometheus-operator-$PROMETHEUS_OPERATOR_VERSION
keda_crds=keda-$KEDA_VERSION

cmd_install() {
	need_debian etcd=etcd-server openssl=openssl containerd=containerd runc=runc iptables=iptables \
		nft=nftables conntrack=conntrack /usr/lib/cni/bridge=containernetworking-plugins
	resolve_etcd
	need_go
	mkdir -p "$kdir"
	# One install at a time; whoever waited finds the work done.
	exec 8>"$cache/kube/.install.lock"
	flock -w 3600 8 || die "timed out waiting for another install ($cache/kube/.install.lock)"
	build_kube
	install_go_tool helm "$helm_pkg" "$helm_ldflags"
	build_pause
	install_crds "$prometheus_crds" "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" \
		example/prometheus-operator-crd \
		monitoring.coreos.com_podmonitors.yaml monitoring.coreos.com_servicemonitors.yaml \
		monitoring.coreos.com_prometheusrules.yaml
	# All of KEDA's: its operator, when run against this control plane, watches them all.
	install_crds "$keda_crds" "github.com/kedacore/keda/v2@$KEDA_VERSION" config/crd/bases \
		keda.sh_scaledobjects.yaml keda.sh_scaledjobs.yaml keda.sh_triggerauthentications.yaml \
		keda.sh_clustertriggerauthentications.yaml eventing.keda.sh_cloudeventsources.yaml \
		eventing.keda.sh_clustercloudeventsources.yaml
	install_strimzi_crds
	exec 8>&-
}

installed() {
	local c
	for c in etcd openssl containerd runc iptables nft conntrack /usr/lib/cni/bridge; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
	kube_built && tool_current helm "$helm_pkg" "$helm_ldflags" &&
		[ -s "$pause_tar" ] && [ "$(cat "$pause_tar.stamp" 2>/dev/null)" = "$(pause_stamp)" ] &&
		[ -f "$crd_cache/$prometheus_crds/.complete" ] && [ -f "$crd_cache/$keda_crds/.complete" ] && strimzi_crds_installed
}

# --- processes ---------------------------------------------------------------

# Debian's etcd and containerd, resolved again once install has installed them.
resolve_etcd() {
	etcd_bin=$(readlink -f "$(command -v etcd 2>/dev/null)" 2>/dev/null || true)
	containerd_bin=$(readlink -f "$(command -v containerd 2>/dev/null)" 2>/dev/null || true)
}
resolve_etcd

binary() { # component
	case $1 in
	etcd) echo "$etcd_bin" ;;
	containerd) echo "$containerd_bin" ;;
	*) echo "$bin/$1" ;;
	esac
}

# Whether pid is the component started by this script for this directory: its
# program is the component's, and its arguments name the directory. Called for
# every process when a pid file is missing, so it reads argv[0] without forking.
ours() { # component pid
	local argv0 expected=$bin/$1
	case $1 in etcd) expected=$etcd_bin ;; containerd) expected=$containerd_bin ;; esac
	{ IFS= read -r -d '' argv0 <"/proc/$2/cmdline"; } 2>/dev/null || return 1
	[ -n "$expected" ] && [ "$argv0" = "$expected" ] || return 1
	tr '\0' '\n' 2>/dev/null <"/proc/$2/cmdline" | grep -qF -- "$dir/"
}

kubectl_() { "$bin/kubectl" --kubeconfig="$kubeconfig" "$@"; }

# The health endpoint of a component serving TLS with a certificate of its own
# (kubectl cannot ask without credentials); without curl, its port being open.
healthy() { # port
	if command -v curl >/dev/null 2>&1; then
		curl -skf --max-time 2 "https://127.0.0.1:$1/healthz" >/dev/null 2>&1
	else
		port_open "$1"
	fi
}

etcd_healthy() {
	local answer
	# shellcheck disable=SC2016 # expanded by the child shell
	answer=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "GET /health HTTP/1.0\r\n\r\n" >&3 && cat <&3' \
		"$etcd_port" 2>/dev/null) || return 1
	[[ $answer == *'"health":"true"'* ]]
}

# --- certificates ------------------------------------------------------------

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

new_ca() { # name common-name
	new_key "$pki/$1.key"
	openssl req -x509 -new -key "$pki/$1.key" -subj "/CN=$2" -days 3650 -out "$pki/$1.crt" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

new_cert() { # name common-name-or-/subject ca extensions
	local subject=$2
	[[ $subject == /* ]] || subject=/CN=$subject
	new_key "$pki/$1.key"
	openssl req -new -key "$pki/$1.key" -subj "$subject" |
		openssl x509 -req -CA "$pki/$3.crt" -CAkey "$pki/$3.key" -CAcreateserial -days 3650 \
			-extfile <(printf '%b' "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n$4") \
			-out "$pki/$1.crt" 2>/dev/null
}

make_pki() {
	[ -f "$pki/.complete" ] && return 0
	log "generating certificates and keys in $pki"
	rm -rf "$pki"
	mkdir -p "$pki"
	chmod 700 "$pki"
	new_ca ca kafka-scale-local-ca
	new_cert apiserver kube-apiserver ca \
		"extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
	# The aggregation layer: the API server proves itself to extension API
	# servers (KEDA's metrics adapter) with this client certificate.
	new_ca front-proxy-ca front-proxy-ca
	new_cert front-proxy-client front-proxy-client front-proxy-ca "extendedKeyUsage=clientAuth"
	# Service account tokens.
	new_key "$pki/sa.key"
	openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
	echo "$(openssl rand -hex 32),admin,admin-uid,\"system:masters\"" >"$pki/tokens.csv"
	touch "$pki/.complete"
}

# The node's certificates, apart from make_pki's so that a run directory made
# before the node had them gets them too; made again when the node's name
# changes, which the kubelet's client certificate carries.
make_node_pki() {
	[ "$(cat "$pki/.node-complete" 2>/dev/null)" = "$node_name" ] && return 0
	# The kubelet as the Node authorizer knows it, and its serving certificate.
	new_cert kubelet-client "/O=system:nodes/CN=system:node:$node_name" ca "extendedKeyUsage=clientAuth"
	new_cert kubelet "$node_name" ca "extendedKeyUsage=serverAuth\nsubjectAltName=IP:$node_ip,DNS:$node_name"
	# The API server to the kubelet (logs, exec, port-forward), and kube-proxy,
	# whom RBAC's default system:node-proxier binding knows by this name.
	new_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" ca "extendedKeyUsage=clientAuth"
	new_cert kube-proxy system:kube-proxy ca "extendedKeyUsage=clientAuth"
	echo "$node_name" >"$pki/.node-complete"
}

write_kubeconfig() { # file user credentials (YAML lines of the user)
	local ca
	ca=$(base64 -w0 "$pki/ca.crt")
	(
		umask 077
		cat >"$1.tmp" <<EOF
# Written by kafka-scale's scripts/kube-local.sh at every start; edits are lost.
apiVersion: v1
kind: Config
clusters:
  - name: kafka-scale-local
    cluster:
      server: https://127.0.0.1:$api_port
      certificate-authority-data: $ca
users:
  - name: $2
    user:
$3
contexts:
  - name: kafka-scale-local
    context:
      cluster: kafka-scale-local
      user: $2
      namespace: default
current-context: kafka-scale-local
EOF
	)
	mv -f "$1.tmp" "$1"
}

write_kubeconfigs() {
	write_kubeconfig "$kubeconfig" admin "      token: $(cut -d, -f1 "$pki/tokens.csv")"
	mkdir -p "$ndir"
	write_kubeconfig "$ndir/kubelet.kubeconfig" "system:node:$node_name" \
		"      client-certificate: $pki/kubelet-client.crt
      client-key: $pki/kubelet-client.key"
	write_kubeconfig "$ndir/kube-proxy.kubeconfig" system:kube-proxy \
		"      client-certificate: $pki/kube-proxy.crt
      client-key: $pki/kube-proxy.key"
}

# --- start -------------------------------------------------------------------

# Like port_free, for a port on the node's address; only once the bridge has
# it, since a connection to it would otherwise take the default route.
node_port_free() { # port what variable
	ip -4 -o addr show dev "$bridge" 2>/dev/null | grep -qF " $node_ip/" || return 0
	(exec 3<>"/dev/tcp/$node_ip/$1") 2>/dev/null || return 0
	die "$2 port $node_ip:$1 is in use by another process; pick another with $3"
}

# Fails unless the ports of the components that do not run yet are free, so
# that a start fails before it starts anything.
check_ports() {
	local c
	for c in "${components[@]}"; do
		running_pid "$c" >/dev/null && continue
		case $c in
		etcd)
			port_free "$etcd_port" "etcd client" KUBE_ETCD_PORT
			port_free "$etcd_peer_port" "etcd peer" KUBE_ETCD_PEER_PORT
			;;
		kube-apiserver) port_free "$api_port" kube-apiserver KUBE_APISERVER_PORT ;;
		kube-controller-manager) port_free "$cm_port" kube-controller-manager KUBE_CONTROLLER_MANAGER_PORT ;;
		kube-scheduler) port_free "$sched_port" kube-scheduler KUBE_SCHEDULER_PORT ;;
		kubelet)
			port_free "$kubelet_healthz_port" "kubelet healthz" KUBE_KUBELET_HEALTHZ_PORT
			node_port_free "$kubelet_port" kubelet KUBE_KUBELET_PORT
			;;
		kube-proxy)
			port_free "$proxy_healthz_port" "kube-proxy healthz" KUBE_PROXY_HEALTHZ_PORT
			port_free "$proxy_metrics_port" "kube-proxy metrics" KUBE_PROXY_METRICS_PORT
			;;
		containerd) [ "$stream_port" = 0 ] || port_free "$stream_port" "containerd streaming" KUBE_CONTAINERD_STREAM_PORT ;;
		esac
	done
}

start_etcd() {
	launch etcd --name kafka-scale --data-dir "$dir/etcd" --logger zap --log-level warn \
		--listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
		--listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
		--initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
		--initial-cluster "kafka-scale=http://127.0.0.1:$etcd_peer_port" \
		--snapshot-count 10000 --quota-backend-bytes $((2 * 1024 * 1024 * 1024))
}

start_apiserver() {
	launch kube-apiserver \
		--etcd-servers="http://127.0.0.1:$etcd_port" \
		--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
		--endpoint-reconciler-type=none \
		--tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
		--client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" \
		--authorization-mode=Node,RBAC --allow-privileged=true --profiling=false \
		--kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
		--kubelet-client-key="$pki/apiserver-kubelet-client.key" \
		--kubelet-certificate-authority="$pki/ca.crt" --kubelet-preferred-address-types=InternalIP \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
		--service-cluster-ip-range=10.96.0.0/16 \
		--requestheader-client-ca-file="$pki/front-proxy-ca.crt" \
		--requestheader-allowed-names=front-proxy-client \
		--requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
		--requestheader-extra-headers-prefix=X-Remote-Extra- \
		--proxy-client-cert-file="$pki/front-proxy-client.crt" \
		--proxy-client-key-file="$pki/front-proxy-client.key"
}

start_controller_manager() {
	launch kube-controller-manager \
		--kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
		--authorization-kubeconfig="$kubeconfig" \
		--bind-address=127.0.0.1 --secure-port="$cm_port" --cert-dir="$dir/controller-manager" \
		--leader-elect=false --profiling=false \
		--service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
		--cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key"
}

start_scheduler() {
	launch kube-scheduler \
		--kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
		--authorization-kubeconfig="$kubeconfig" \
		--bind-address=127.0.0.1 --secure-port="$sched_port" --cert-dir="$dir/scheduler" \
		--leader-elect=false --profiling=false
}

start_component() { # component
	local pid
	if pid=$(running_pid "$1"); then
		log "$1 already running (pid $pid)"
		return 0
	fi
	rm -f "$run/$1.pid"
	case $1 in
	etcd) start_etcd ;;
	kube-apiserver) start_apiserver ;;
	kube-controller-manager) start_controller_manager ;;
	kube-scheduler) start_scheduler ;;
	containerd) start_containerd ;;
	kubelet) start_kubelet ;;
	kube-proxy) start_kube_proxy ;;
	esac
}

# --- node --------------------------------------------------------------------

ctr_() { ctr --address "$containerd_sock" --namespace k8s.io "$@"; }

# Opens the machine's node lock on descriptor 7. The node's processes inherit
# it, so the lock stays held while any of them runs (containers' shims
# included) and is free once the last has gone. The file names the run
# directory of the node that holds it.
open_node_lock() { exec 7>>"$node_lock"; }
node_owner() { cat "$node_lock" 2>/dev/null || true; }

# Whether this start may run the node: the lock is free, or held by this
# directory's node, which runs in part (start the rest).
node_free() {
	open_node_lock
	flock -n 7 || [ "$(node_owner)" = "$dir" ]
}

node_taken() {
	echo "a node already runs on this machine, from $(node_owner) ($node_lock is locked): stop it first with KUBE_LOCAL_DIR=$(node_owner) $0 stop"
}

take_node_lock() {
	node_free || fail "$(node_taken)"
	# Held now, or by our node's processes.
	flock -n 7 && echo "$dir" >"$node_lock"
	return 0
}

# The guard, in both families: pods' packets may go to the host and to other
# pods on the bridge, never be forwarded anywhere else (the default route's
# interface, or any interface added later).
guard_rule=(FORWARD -i "$bridge" ! -o "$bridge" -m comment --comment "$guard_comment" -j DROP)

setup_network() {
	mkdir -p "$ndir"
	# The bridge plugin turns forwarding on; stop puts back what was there.
	[ -f "$ndir/ip_forward.orig" ] || cat /proc/sys/net/ipv4/ip_forward >"$ndir/ip_forward.orig"
	local ipt
	for ipt in iptables ip6tables; do
		"$ipt" -w -t mangle -C "${guard_rule[@]}" 2>/dev/null ||
			"$ipt" -w -t mangle -I "${guard_rule[0]}" 1 "${guard_rule[@]:1}" ||
			fail "adding the guard to $ipt's mangle FORWARD chain failed"
	done
	# The kubelet wants a node address that is not loopback: the bridge's,
	# made before the CNI plugin would make it.
	ip link show "$bridge" >/dev/null 2>&1 || ip link add "$bridge" type bridge || fail "creating bridge $bridge failed"
	ip addr replace "$node_ip/24" dev "$bridge" || fail "giving $bridge the address $node_ip/24 failed"
	ip link set "$bridge" up || fail "bringing $bridge up failed"
}

write_node_config() {
	local c=$ndir/containerd k=$ndir/kubelet
	mkdir -p "$c" "$k/root" "$k/pod-logs" "$k/volume-plugins" "$ndir/cni/net.d" "$ndir/cni/ipam"
	cat >"$c/config.toml" <<EOF
# Written by kafka-scale's scripts/kube-local.sh at every start; edits are lost.
version = 2
root = "$c/root"
state = "$c/state"

[grpc]
  address = "$containerd_sock"
[ttrpc]
  address = "$containerd_sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  stream_server_address = "127.0.0.1"
  stream_server_port = "$stream_port"
  netns_mounts_under_state_dir = true
  # Root here lacks CAP_SYS_RESOURCE: runc cannot lower a sandbox's
  # oom_score_adj below containerd's own, and every pod would fail to start.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # cgroup v1 and no systemd: cgroupfs, as the kubelet's cgroupDriver.
        SystemdCgroup = false
        Root = "$c/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$ndir/cni/net.d"
    max_conf_num = 1
EOF
	# containerd 1.6 reads the CNI config once: it is written before it starts.
	cat >"$ndir/cni/net.d/10-$cni_network.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$cni_network",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$pod_cidr", "gateway": "$node_ip"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$ndir/cni/ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
	# No cluster DNS: names fail at once, and no query leaves the pod.
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$k/resolv.conf"
	cat >"$k/config.yaml" <<EOF
# Written by kafka-scale's scripts/kube-local.sh at every start; edits are lost.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $kubelet_healthz_port
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
rotateCertificates: false
serverTLSBootstrap: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $pki/ca.crt}
# Only holders of a certificate from this cluster's CA get in at all.
authorization: {mode: AlwaysAllow}
enableProfilingHandler: false
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$containerd_sock
imageServiceEndpoint: unix://$containerd_sock
serializeImagePulls: false
resolvConf: $k/resolv.conf
clusterDomain: cluster.local
podLogsDir: $k/pod-logs
volumePluginDir: $k/volume-plugins
staticPodPath: ""
makeIPTablesUtilChains: false
maxPods: 110
# A shared disk: evict only when it is all but full, and never collect images,
# which no registry could give back.
evictionHard: {memory.available: 100Mi, nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
	cat >"$ndir/kube-proxy.yaml" <<EOF
# Written by kafka-scale's scripts/kube-local.sh at every start; edits are lost.
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $ndir/kube-proxy.kubeconfig}
hostnameOverride: $node_name
bindAddress: $node_ip
healthzBindAddress: 127.0.0.1:$proxy_healthz_port
metricsBindAddress: 127.0.0.1:$proxy_metrics_port
mode: iptables
clusterCIDR: $pod_cidr
nodePortAddresses: ["$node_ip/32"]
oomScoreAdj: 0
# Zeros leave the machine's conntrack settings as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
}

start_containerd() {
	launch containerd --config "$ndir/containerd/config.toml"
}

start_kubelet() {
	launch kubelet --config="$ndir/kubelet/config.yaml" --kubeconfig="$ndir/kubelet.kubeconfig" \
		--root-dir="$ndir/kubelet/root" --cert-dir="$ndir/kubelet/pki" \
		--hostname-override="$node_name" --node-ip="$node_ip" \
		--pod-infra-container-image="$pause_image" \
		--node-labels="topology.kubernetes.io/region=local,topology.kubernetes.io/zone=local-a"
}

start_kube_proxy() {
	launch kube-proxy --config="$ndir/kube-proxy.yaml"
}

has_image() { ctr_ images ls -q | grep -qxF "$1"; }

import_images() { # file...
	local f out
	for f; do
		out=$(ctr_ images import "$f" 2>&1) || die "importing $f into containerd failed: $out"
		log "imported $f: $(sed -nE 's/^unpacking ([^ ]+) .*/\1/p' <<<"$out" | tr '\n' ' ')"
	done
}

start_node() {
	take_node_lock
	setup_network
	write_node_config
	start_component containerd
	wait_for "containerd on $containerd_sock" ctr_ version
	has_image "$pause_image" || import_images "$pause_tar"
	start_component kubelet
	start_component kube-proxy
}

node_ready() {
	[ "$(kubectl_ get node "$node_name" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# Processes whose command line names our containerd's socket: the shims of
# its containers, which outlive containerd.
shim_pids() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' '\n' 2>/dev/null <"$p/cmdline" | grep -qxF -- "$containerd_sock" && echo "${p#/proc/}"
	done
	return 0
}

# Stops the containers: SIGTERM, SIGKILL for those still running after
# KUBE_LOCAL_STOP_TIMEOUT, then deletes tasks and containers.
stop_containers() {
	running_pid containerd >/dev/null || return 0
	local ids id end
	ids=$(ctr_ tasks ls -q 2>/dev/null) || return 0
	[ -n "$ids" ] || return 0
	log "stopping $(wc -l <<<"$ids") containers"
	for id in $ids; do ctr_ tasks kill -s SIGTERM "$id" >/dev/null 2>&1 || true; done
	end=$((SECONDS + stop_timeout))
	while ctr_ tasks ls 2>/dev/null | awk 'NR > 1 && $3 != "STOPPED"' | grep -q . && [ $SECONDS -lt $end ]; do
		sleep 0.3
	done
	for id in $ids; do
		ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
	done
	for id in $ids; do ctr_ tasks delete --force "$id" >/dev/null 2>&1 || true; done
	ids=$(ctr_ containers ls -q 2>/dev/null) || true
	for id in $ids; do ctr_ containers delete "$id" >/dev/null 2>&1 || true; done
}

# Deletes the rules that jump to KUBE-* and CNI-* chains or carry the guard's
# comment, then flushes and deletes those chains: kube-proxy's, the kubelet's,
# the CNI plugins'.
clean_iptables() {
	local ipt t rule chains c
	for ipt in iptables ip6tables; do
		for t in filter nat mangle raw; do
			while IFS= read -r rule; do
				eval "local args=($rule)"
				args[0]=-D
				"$ipt" -w -t "$t" "${args[@]}" 2>/dev/null || true
			done < <("$ipt" -w -t "$t" -S 2>/dev/null | grep -E -- '^-A ' | grep -vE -- '^-A (KUBE|CNI)-' |
				grep -E -- "-[jg] (KUBE|CNI)-|$guard_comment" || true)
			chains=$("$ipt" -w -t "$t" -S 2>/dev/null | sed -nE 's/^-N ((KUBE|CNI)-[^ ]+)$/\1/p')
			for c in $chains; do "$ipt" -w -t "$t" -F "$c" 2>/dev/null || true; done
			for c in $chains; do "$ipt" -w -t "$t" -X "$c" 2>/dev/null || true; done
		done
	done
	local fam
	for fam in ip ip6; do nft delete table "$fam" kube-proxy 2>/dev/null || true; done
}

# Takes everything the node made off the machine: mounts, the bridge and its
# links, the rules, forwarding, cgroups, libcni's cache, the log links.
teardown_node() {
	local m f c
	"$bin/kube-proxy" --cleanup >"$logs/kube-proxy-cleanup.log" 2>&1 || true
	# Deepest first, lazily: a netns mount may still be referenced; twice, for
	# mounts stacked on one another.
	for _ in 1 2 3; do
		m=$(findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r)
		[ -n "$m" ] || break
		while IFS= read -r f; do umount -l "$f" 2>/dev/null || true; done <<<"$m"
	done
	if ip link show "$bridge" >/dev/null 2>&1; then
		for f in $(ip -o link show master "$bridge" 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}'); do
			ip link delete "$f" 2>/dev/null || true
		done
		ip link delete "$bridge" || log "deleting bridge $bridge failed"
	fi
	clean_iptables
	if [ -f "$ndir/ip_forward.orig" ]; then
		cat "$ndir/ip_forward.orig" >/proc/sys/net/ipv4/ip_forward
		rm -f "$ndir/ip_forward.orig"
	fi
	for c in /sys/fs/cgroup/*/kubepods; do
		[ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# libcni's cache of the pods' networks, ours and CRI's loopback, which no
	# CNI DEL removed since the containers were killed under it.
	rm -f /var/lib/cni/results/"$cni_network"-* /var/lib/cni/results/cni-loopback-*
	find /var/log/containers -maxdepth 1 -type l -lname "$dir/*" -delete 2>/dev/null || true
	# No container runs: their addresses, and containerd's runtime state, go.
	rm -rf "$ndir/cni/ipam" "$ndir/containerd/state"
	rmdir /run/containerd/s /run/containerd 2>/dev/null || true
}

stop_node() {
	# Another directory's node is not ours to tear down.
	open_node_lock
	if ! flock -n 7 && [ "$(node_owner)" != "$dir" ]; then
		stop_components kube-proxy kubelet
		return 0
	fi
	stop_components kube-proxy kubelet
	stop_containers
	stop_components containerd
	local p
	for p in $(shim_pids); do
		log "killing containerd shim (pid $p)"
		kill -KILL "$p" 2>/dev/null || true
	done
	flock -w "$stop_timeout" 7 || log "the node lock $node_lock is still held: $(node_processes)"
	teardown_node
	: >"$node_lock"
}

# --- check -------------------------------------------------------------------

# Every trace a node leaves on the machine, one per line: processes, mounts,
# links, rules, cgroups, state files.

# The node's processes: any kubelet or kube-proxy of ours, and containerd, its
# shims and runc for this run directory (other programs on the machine may
# run runc, BuildKit for one).
node_processes() {
	local p argv0 args
	for p in /proc/[0-9]*; do
		{ IFS= read -r -d '' argv0 <"$p/cmdline"; } 2>/dev/null || continue
		case ${argv0##*/} in
		containerd | containerd-shim* | runc | kubelet | kube-proxy) ;;
		*) continue ;;
		esac
		args=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		if [[ $argv0 == "$bin/"* || $args == *"$dir/"* ]]; then echo "process ${p#/proc/}: $args"; fi
	done
}

leftovers() {
	local ipt t
	node_processes
	# cgroup files report a size of 0 whatever they hold: read them.
	find /sys/fs/cgroup/*/kubepods* -name cgroup.procs 2>/dev/null | while read -r f; do
		sed "s|^|process in ${f%/cgroup.procs}: |" "$f" 2>/dev/null
	done
	# Mounts of this run directory (a temporary mount of containerd's names it
	# in its options), of any kube-local node's containerd or kubelet, and under
	# the default directories of containerd and the kubelet. Not BuildKit's, say,
	# which mounts in /tmp too.
	findmnt -rn -o TARGET,FSTYPE,OPTIONS | awk -v d="$dir/" '
		index($1, d) == 1 || index($3, d) > 0 || $1 ~ /\/node\/(containerd|kubelet)\// ||
			$1 ~ /^\/(run\/containerd|var\/lib\/kubelet|var\/lib\/containerd)(\/|$)/ {print "mount " $1 " (" $2 ")"}'
	ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep -E "^($bridge|veth[0-9a-f]{8})$" | sed 's/^/link /'
	for ipt in iptables ip6tables; do
		for t in filter nat mangle raw; do
			"$ipt" -w -t "$t" -S 2>/dev/null | grep -E -- "KUBE-|CNI-|$guard_comment" | sed "s/^/$ipt -t $t: /"
		done
	done
	nft list tables 2>/dev/null | grep -E 'kube-proxy|cni' | sed 's/^/nft /'
	find /sys/fs/cgroup/ -mindepth 2 -maxdepth 2 -name 'kubepods*' 2>/dev/null | sed 's/^/cgroup /'
	find /var/lib/cni /run/containerd -mindepth 1 ! -type d 2>/dev/null | sed 's/^/file /'
	find /var/log/containers -mindepth 1 2>/dev/null | sed 's/^/file /'
	[ ! -f "$ndir/ip_forward.orig" ] || echo "net.ipv4.ip_forward not put back ($ndir/ip_forward.orig)"
	if [ -e "$node_lock" ] && ! flock -n "$node_lock" true; then
		echo "lock $node_lock held (node from $(node_owner))"
	fi
}

cmd_check() {
	local out
	out=$(leftovers)
	[ -n "$out" ] || return 0
	echo "$out"
	return 1
}

apply_crds() {
	local files=() f
	for f in "$crd_cache/$prometheus_crds"/*.yaml "$crd_cache/$keda_crds"/*.yaml "$(strimzi_crd_dir)"/*.yaml; do
		files+=(-f "$f")
	done
	kubectl_ apply --server-side --force-conflicts --field-manager=kube-local "${files[@]}" >/dev/null ||
		fail "applying the CRDs failed"
	kubectl_ wait --for=condition=Established crd --all --timeout="$((deadline - SECONDS > 5 ? deadline - SECONDS : 5))s" >/dev/null ||
		fail "the CRDs were not established"
	# Policies on the CRDs' resources, once the API server serves them.
	kubectl_ apply --server-side --force-conflicts --field-manager=kube-local \
		-f "$module/crds/strimzi-cluster-label-policy.yaml" >/dev/null || fail "applying the admission policy failed"
}

print_env() {
	printf 'export KUBECONFIG=%q\n' "$kubeconfig"
	# shellcheck disable=SC2016 # $PATH is for the shell that evaluates this
	printf 'export PATH=%q:"$PATH"\n' "$bin"
}

cmd_start() {
	[ "$(id -u)" = 0 ] || die "the node needs root: containerd, the kubelet, the pod bridge and iptables"
	installed || cmd_install
	lock_dir "$lock_wait"
	touch "$marker"
	mkdir -p "$logs" "$run"
	make_pki
	make_node_pki
	write_kubeconfigs
	local t0=$SECONDS
	deadline=$((SECONDS + start_timeout))
	check_ports
	# Before anything starts; released until start_node takes it.
	node_free || die "$(node_taken)"
	flock -u 7
	log "starting Kubernetes $kube_version on 127.0.0.1:$api_port (run directory $dir)"

	start_component etcd
	wait_for "etcd on 127.0.0.1:$etcd_port" etcd_healthy
	start_component kube-apiserver
	wait_for "kube-apiserver /readyz" kubectl_ get --raw /readyz
	start_component kube-controller-manager
	start_component kube-scheduler
	start_node

	apply_crds
	wait_for "kube-controller-manager /healthz" healthy "$cm_port"
	wait_for "kube-scheduler /healthz" healthy "$sched_port"
	wait_for "the default ServiceAccount" kubectl_ -n default get serviceaccount default
	wait_for "node $node_name Ready" node_ready
	log "ready in $((SECONDS - t0)) s; kubeconfig $kubeconfig"
	print_env
}

# --- stop, status ------------------------------------------------------------

stop_all() {
	# The node first, then the other clients, then the API server, then its
	# storage.
	stop_node
	stop_components kube-scheduler kube-controller-manager
	stop_components kube-apiserver
	stop_components etcd
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
	if [ -x "$bin/kubectl" ] && [ -f "$kubeconfig" ] &&
		kubectl_ --request-timeout=3s get --raw /readyz >/dev/null 2>&1; then
		echo "kube-apiserver ready at https://127.0.0.1:$api_port (KUBECONFIG=$kubeconfig)"
	else
		echo "kube-apiserver not ready"
		ok=1
	fi
	if node_ready; then
		echo "node $node_name Ready ($node_ip)"
	else
		echo "node $node_name not Ready"
		ok=1
	fi
	return $ok
}

cmd_import() {
	[ $# -gt 0 ] || die "usage: $0 import FILE..."
	local f
	for f; do
		if [ ! -f "$f" ] || [ ! -r "$f" ]; then die "$f is not a readable image tarball"; fi
	done
	lock_dir "$lock_wait"
	running_pid containerd >/dev/null || die "the node's containerd does not run (run directory $dir): $0 start first"
	import_images "$@"
}

cmd_clean() {
	cmd_stop
	[ -d "$dir" ] || return 0
	if [ ! -f "$marker" ] && [ -n "$(find "$dir" -mindepth 1 ! -name .lock -print -quit)" ]; then
		die "$dir was not made by $prog; not deleting it"
	fi
	log "deleting $dir"
	rm -rf "$dir"
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start ;;
import)
	shift
	cmd_import "$@"
	;;
stop) cmd_stop ;;
check) cmd_check ;;
status) cmd_status ;;
env) print_env ;;
clean) cmd_clean ;;
*)
	echo "usage: $0 install|start|import FILE...|stop|check|status|env|clean" >&2
	exit 2
	;;
esac
