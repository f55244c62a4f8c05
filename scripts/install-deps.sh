#!/usr/bin/env bash
# Installs what building and testing kafka-scale needs on a Debian machine,
# skipping whatever is already there, so it is safe to run every time:
# Debian packages, Go tools (helm, actionlint) into the cache's bin, and the
# Kafka broker's jars into the cache.
#
#   scripts/install-deps.sh          install
#   scripts/install-deps.sh --bin    print the directory of the Go tools (add it to PATH)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${KAFKA_SCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-scale}
bin="$cache/bin"

HELM_VERSION=${HELM_VERSION:-v3.22.0}
ACTIONLINT_VERSION=${ACTIONLINT_VERSION:-v1.7.12}

if [ "${1:-}" = "--bin" ]; then
	echo "$bin"
	exit 0
fi

log() { echo "install-deps: $*" >&2; }

# Debian packages: name of the command each provides -> package.
declare -A packages=(
	[shellcheck]=shellcheck
	[promtool]=prometheus
	[etcd]=etcd-server
	[openssl]=openssl
	[pgrep]=procps
	[java]=default-jre-headless
	[mvn]=maven
)
missing=()
for cmd in "${!packages[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${packages[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		log "missing Debian packages: ${missing[*]} (run as root, or install them)"
		exit 1
	fi
	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts the services it installs; the tests run their own.
for svc in prometheus etcd prometheus-node-exporter; do
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
		systemctl stop "$svc" || true
	fi
done

# Go tools, pinned.
mkdir -p "$bin"
install_go_tool() { # name module@version
	local name=$1 pkg=$2 stamp="$bin/.$1.version"
	if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$pkg" ]; then
		return
	fi
	log "building $pkg"
	GOBIN="$bin" GOFLAGS=-buildvcs=false go install "$pkg"
	echo "$pkg" >"$stamp"
}
install_go_tool helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
install_go_tool actionlint "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"

# The Kafka broker's jars.
"$here/kafka-local.sh" fetch
log "ready; Go tools in $bin"
