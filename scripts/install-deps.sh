#!/usr/bin/env bash
# Installs what building and testing kafka-scale needs on a Debian machine,
# skipping whatever is already there, so it is safe to run every time (make
# demo, make test and the other targets that need it run it first; when all is
# there it returns in a fraction of a second): Debian packages with apt, Go
# tools (helm, actionlint) into the cache's bin, and the Kafka broker's jars
# into the cache.
#
# Beforehand the machine needs Go 1.26, and Java 17+ and Maven or the means to
# install them: root, or sudo without a password, for apt-get. A missing
# prerequisite stops it at once with one line saying what to do.
#
#   scripts/install-deps.sh          install
#   scripts/install-deps.sh --demo   install only what make demo needs (Java, Maven, the jars)
#   scripts/install-deps.sh --check  only check the prerequisites
#   scripts/install-deps.sh --bin    print the directory of the Go tools (add it to PATH)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${KAFKA_SCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-scale}
bin="$cache/bin"

HELM_VERSION=${HELM_VERSION:-v3.22.0}
ACTIONLINT_VERSION=${ACTIONLINT_VERSION:-v1.7.12}
GO_MIN=1.26
JAVA_MIN=17

if [ "${1:-}" = "--bin" ]; then
	echo "$bin"
	exit 0
fi

prog=install-deps
# log and die (the one line that says what is missing and how to get it).
# shellcheck source-path=SCRIPTDIR source=lib/local.sh
source "$here/lib/local.sh"

# How apt-get can be run here: directly as root, through sudo without a
# password, or not at all (empty).
apt_cmd=()
if command -v apt-get >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		apt_cmd=(env DEBIAN_FRONTEND=noninteractive apt-get)
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		apt_cmd=(sudo -n env DEBIAN_FRONTEND=noninteractive apt-get)
	fi
fi
apt_usable() { [ ${#apt_cmd[@]} -gt 0 ]; }
# why_no_apt says, for the one-line messages, why packages cannot be installed.
why_no_apt() {
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "this is not a Debian machine (no apt-get)"
	else
		echo "apt-get needs root or sudo without a password, and neither is available"
	fi
}

# version_ge A B: whether version A (dotted numbers) is at least B.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

# Prerequisites: Go is needed to build anything; Java and Maven are installed
# with apt below when they are missing and apt is usable.
command -v go >/dev/null 2>&1 ||
	die "Go $GO_MIN or newer is needed and 'go' is not on PATH: install it (https://go.dev/doc/install) and add its bin directory to PATH"
go_version=$(go env GOVERSION 2>/dev/null | sed -E 's/^go([0-9]+(\.[0-9]+)*).*/\1/')
version_ge "$go_version" "$GO_MIN" ||
	die "Go $GO_MIN or newer is needed and 'go' is $go_version: install a newer one (https://go.dev/doc/install)"
if command -v java >/dev/null 2>&1; then
	java_version=$(java_version java)
	java_major=${java_version%%[._-]*}
	[ "${java_major:-0}" -ge "$JAVA_MIN" ] 2>/dev/null ||
		die "Java $JAVA_MIN or newer is needed for the Kafka broker and 'java' is ${java_version:-of unknown version}: install one (Debian: apt-get install openjdk-17-jre-headless) and put it first on PATH, or set JAVA_HOME"
elif ! apt_usable; then
	die "Java $JAVA_MIN or newer is needed for the Kafka broker and 'java' is not on PATH, and $(why_no_apt): install one (Debian: apt-get install default-jre-headless)"
fi
if ! command -v mvn >/dev/null 2>&1 && ! apt_usable; then
	die "Maven is needed to fetch the Kafka broker's jars and 'mvn' is not on PATH, and $(why_no_apt): install it (Debian: apt-get install maven)"
fi
mode=${1:-all}
case $mode in
all | --demo | --check) ;;
*) die "unknown argument $mode: want --demo, --check or --bin, or none" ;;
esac
if [ "$mode" = --check ]; then
	exit 0
fi

# Debian packages: name of the command each provides (or a program's absolute
# path, for the CNI plugins off PATH) -> package. kube-local.sh's node runs
# containerd, runc and the CNI plugins itself, with a config and socket of its
# own: a containerd service Debian starts is not in its way.
declare -A packages=(
	[shellcheck]=shellcheck
	[promtool]=prometheus
	[etcd]=etcd-server
	[openssl]=openssl
	[containerd]=containerd
	[runc]=runc
	[/usr/lib/cni/bridge]=containernetworking-plugins
	[iptables]=iptables
	[nft]=nftables
	[conntrack]=conntrack
	[pgrep]=procps
	[flock]=util-linux
	[java]=default-jre-headless
	[mvn]=maven
	# make test-images (scripts/images-local.sh): BuildKit's runtime, the
	# build image's Debian root file system, the module proxy, the checks.
	[runc]=runc
	[mmdebstrap]=mmdebstrap
	[/usr/bin/python3]=python3
	[curl]=curl
	[jq]=jq
	[readelf]=binutils
)
if [ "$mode" = --demo ]; then
	packages=([pgrep]=procps [flock]=util-linux [java]=default-jre-headless [mvn]=maven)
fi
missing=()
for cmd in "${!packages[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${packages[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt_usable ||
		die "missing Debian packages ${missing[*]}, and $(why_no_apt): install them (apt-get install ${missing[*]})"
	log "installing Debian packages with apt-get: ${missing[*]} (a minute at most)"
	"${apt_cmd[@]}" update -qq >/dev/null ||
		die "apt-get update failed: run '${apt_cmd[*]} update' to see why"
	"${apt_cmd[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed: run '${apt_cmd[*]} install ${missing[*]}' to see why"
fi

# Debian starts the services it installs; the tests run their own.
for svc in prometheus etcd prometheus-node-exporter; do
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
		systemctl stop "$svc" || true
	fi
done

# The Kafka broker's jars.
"$here/kafka-local.sh" fetch
if [ "$mode" = --demo ]; then
	exit 0
fi

# Go tools, pinned.
mkdir -p "$bin"
install_go_tool() { # name module@version
	local name=$1 pkg=$2 stamp="$bin/.$1.version"
	if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$pkg" ]; then
		return
	fi
	log "building $name from $pkg (once; a few minutes on two cores)"
	GOBIN="$bin" GOFLAGS=-buildvcs=false go install "$pkg"
	echo "$pkg" >"$stamp"
}
install_go_tool helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
install_go_tool actionlint "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
log "all installed; Go tools in $bin"
