#!/usr/bin/env bash
# Runs a real Kubernetes control plane on 127.0.0.1 for the charts' tests, with
# no containers: etcd, kube-apiserver, kube-controller-manager and
# kube-scheduler, and kwok playing the kubelet of a few fake nodes, so that the
# Pods of a Deployment are scheduled and reach Running. The API server has the
# aggregation layer's front-proxy set up (for KEDA's metrics adapter), and the
# CRDs the charts use are installed: prometheus-operator's PodMonitor,
# ServiceMonitor and PrometheusRule, KEDA's, and Strimzi's KafkaTopic and
# KafkaUser (Strimzi's own, from its io.strimzi:api artifact: lib/strimzi-crds.sh).
#
# etcd is Debian's etcd-server. The Kubernetes binaries are built once from the
# module in scripts/kube-local (go.mod pins the version), kwok and helm with
# "go install", all into a cache outside the repository.
#
#   scripts/kube-local.sh install   build and fetch everything into the cache
#   scripts/kube-local.sh start     start the control plane, or whatever part of
#                                   it is not running; prints the env lines
#   scripts/kube-local.sh stop      stop the processes this script started
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

KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
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
stages=$cache/kube/kwok-$KWOK_VERSION-stages.yaml
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
dups=$(printf '%s\n' "$etcd_port" "$etcd_peer_port" "$api_port" "$cm_port" "$sched_port" | sort | uniq -d)
[ -z "$dups" ] || die "port $dups is given to two components; see the KUBE_*_PORT variables"

nodes=${KUBE_LOCAL_NODES:-3}
[[ $nodes =~ ^[1-9][0-9]*$ ]] || die "KUBE_LOCAL_NODES=$nodes is not a positive number"
node_cpu=${KUBE_LOCAL_NODE_CPU:-32}
node_memory=${KUBE_LOCAL_NODE_MEMORY:-64Gi}
node_pods=${KUBE_LOCAL_NODE_PODS:-110}

start_timeout=${KUBE_LOCAL_START_TIMEOUT:-120}
stop_timeout=${KUBE_LOCAL_STOP_TIMEOUT:-30}
[[ $start_timeout =~ ^[0-9]+$ ]] || die "KUBE_LOCAL_START_TIMEOUT=$start_timeout is not a number of seconds"
[[ $stop_timeout =~ ^[0-9]+$ ]] || die "KUBE_LOCAL_STOP_TIMEOUT=$stop_timeout is not a number of seconds"
# How long a start or stop waits for another on the same directory: a start,
# and a stop's three rounds of stop_components.
lock_wait=$((start_timeout + stop_timeout * 3 + 30))

# Started in this order, stopped in the reverse one.
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
kube_binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

export GOWORK=off

# --- install -----------------------------------------------------------------

# Installs the Debian packages providing the missing commands (command=package).
need_debian() {
	local pair missing=()
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

kwok_pkg=sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION
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

# kwok does nothing without stages: these make nodes Ready and keep their leases
# fresh, and take pods to Running, to Succeeded, and away when deleted.
install_stages() {
	[ -s "$stages" ] && return 0
	local src f
	src=$(module_dir "sigs.k8s.io/kwok@$KWOK_VERSION")/kustomize/stage
	{
		echo "# kwok $KWOK_VERSION stages from its kustomize/stage, concatenated by scripts/kube-local.sh."
		for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
			pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
			[ -f "$src/$f" ] || die "kwok $KWOK_VERSION has no stage $f"
			echo "---"
			cat "$src/$f"
		done
	} >"$stages.tmp"
	mv -f "$stages.tmp" "$stages"
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
	need_debian etcd=etcd-server openssl=openssl
	resolve_etcd
	need_go
	mkdir -p "$kdir"
	# One install at a time; whoever waited finds the work done.
	exec 8>"$cache/kube/.install.lock"
	flock -w 3600 8 || die "timed out waiting for another install ($cache/kube/.install.lock)"
	build_kube
	install_go_tool kwok "$kwok_pkg"
	install_go_tool helm "$helm_pkg" "$helm_ldflags"
	install_stages
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
	command -v etcd >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 && kube_built &&
		tool_current kwok "$kwok_pkg" && tool_current helm "$helm_pkg" "$helm_ldflags" &&
		[ -s "$stages" ] && [ -f "$crd_cache/$prometheus_crds/.complete" ] && [ -f "$crd_cache/$keda_crds/.complete" ] && strimzi_crds_installed
}

# --- processes ---------------------------------------------------------------

# Debian's etcd, resolved again once install has installed it.
resolve_etcd() { etcd_bin=$(readlink -f "$(command -v etcd 2>/dev/null)" 2>/dev/null || true); }
resolve_etcd

binary() { # component
	if [ "$1" = etcd ]; then echo "$etcd_bin"; else echo "$bin/$1"; fi
}

# Whether pid is the component started by this script for this directory: its
# program is the component's, and its arguments name the directory. Called for
# every process when a pid file is missing, so it reads argv[0] without forking.
ours() { # component pid
	local argv0 expected=$bin/$1
	if [ "$1" = etcd ]; then expected=$etcd_bin; fi
	{ IFS= read -r -d '' argv0 <"/proc/$2/cmdline"; } 2>/dev/null || return 1
	[ -n "$expected" ] && [ "$argv0" = "$expected" ] || return 1
	tr '\0' '\n' <"/proc/$2/cmdline" 2>/dev/null | grep -qF -- "$dir/"
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

new_cert() { # name common-name ca extensions
	new_key "$pki/$1.key"
	openssl req -new -key "$pki/$1.key" -subj "/CN=$2" |
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

write_kubeconfig() {
	local token ca
	token=$(cut -d, -f1 "$pki/tokens.csv")
	ca=$(base64 -w0 "$pki/ca.crt")
	(
		umask 077
		cat >"$kubeconfig.tmp" <<EOF
# Written by kafka-scale's scripts/kube-local.sh at every start; edits are lost.
apiVersion: v1
kind: Config
clusters:
  - name: kafka-scale-local
    cluster:
      server: https://127.0.0.1:$api_port
      certificate-authority-data: $ca
users:
  - name: admin
    user:
      token: $token
contexts:
  - name: kafka-scale-local
    context:
      cluster: kafka-scale-local
      user: admin
      namespace: default
current-context: kafka-scale-local
EOF
	)
	mv -f "$kubeconfig.tmp" "$kubeconfig"
}

# --- start -------------------------------------------------------------------

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
		--authorization-mode=RBAC --allow-privileged=true --profiling=false \
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

start_kwok() {
	launch kwok \
		--kubeconfig="$kubeconfig" --config="$stages" \
		--manage-all-nodes=false \
		--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
		--manage-nodes-with-label-selector= \
		--cidr=10.0.0.1/24 --node-ip=10.0.0.1 --node-lease-duration-seconds=40
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
	kwok) start_kwok ;;
	esac
}

node_manifest() { # index
	local zones=(a b c)
	cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$1
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-$1
    topology.kubernetes.io/region: local
    topology.kubernetes.io/zone: local-${zones[$(($1 % 3))]}
    type: kwok
status:
  allocatable: {cpu: "$node_cpu", memory: $node_memory, pods: "$node_pods", ephemeral-storage: 100Gi}
  capacity: {cpu: "$node_cpu", memory: $node_memory, pods: "$node_pods", ephemeral-storage: 100Gi}
EOF
}

create_nodes() {
	local i
	for i in $(seq 0 $((nodes - 1))); do
		kubectl_ get node "kwok-node-$i" >/dev/null 2>&1 && continue
		node_manifest "$i" | kubectl_ create -f - >/dev/null || fail "creating node kwok-node-$i failed"
	done
}

all_nodes_ready() {
	local i
	for i in $(seq 0 $((nodes - 1))); do
		[ "$(kubectl_ get node "kwok-node-$i" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] ||
			return 1
	done
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
	installed || cmd_install
	lock_dir "$lock_wait"
	touch "$marker"
	mkdir -p "$logs" "$run"
	make_pki
	write_kubeconfig
	local t0=$SECONDS
	deadline=$((SECONDS + start_timeout))
	check_ports
	log "starting Kubernetes $kube_version on 127.0.0.1:$api_port (run directory $dir)"

	start_component etcd
	wait_for "etcd on 127.0.0.1:$etcd_port" etcd_healthy
	start_component kube-apiserver
	wait_for "kube-apiserver /readyz" kubectl_ get --raw /readyz
	start_component kube-controller-manager
	start_component kube-scheduler
	start_component kwok

	create_nodes
	apply_crds
	wait_for "kube-controller-manager /healthz" healthy "$cm_port"
	wait_for "kube-scheduler /healthz" healthy "$sched_port"
	wait_for "the default ServiceAccount" kubectl_ -n default get serviceaccount default
	wait_for "$nodes Ready node(s)" all_nodes_ready
	log "ready in $((SECONDS - t0)) s; kubeconfig $kubeconfig"
	print_env
}

# --- stop, status ------------------------------------------------------------

stop_all() {
	# Clients first, then the API server, then its storage.
	stop_components kwok kube-scheduler kube-controller-manager
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
	return $ok
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
stop) cmd_stop ;;
status) cmd_status ;;
env) print_env ;;
clean) cmd_clean ;;
*)
	echo "usage: $0 install|start|stop|status|env|clean" >&2
	exit 2
	;;
esac
