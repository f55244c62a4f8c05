#!/usr/bin/env bash
# Builds the services' images from the repository's Dockerfile with a real
# builder on a machine without Docker: BuildKit (buildkitd with its OCI worker
# on runc, driven by buildctl) and a registry, both on 127.0.0.1, pinned in
# tools/images/go.mod and built into a cache outside the repository. Needs
# root: runc runs the build's containers rootful.
#
# The build reaches nothing off this machine. The Dockerfile's bases are
# stand-ins assembled from Debian packages and pushed to the local registry
# under their real names; buildkitd takes that registry as the mirror of
# docker.io and gcr.io. The Go modules come from this machine's module cache,
# served on loopback as the build's GOPROXY.
#
#   scripts/images-local.sh install  build buildkitd, buildctl and the registry
#                                    into the cache (once per tools/images/go.sum)
#   scripts/images-local.sh start    start the registry, the module proxy and
#                                    buildkitd (or find them running)
#   scripts/images-local.sh build    install, start, push the stand-in bases,
#                                    then build every service's image into
#                                    $IMAGES_LOCAL_DIR/out/<service>.tar (OCI)
#   scripts/images-local.sh check    run each image's binary with --version in
#                                    its unpacked root file system, and check
#                                    the libraries and glibc it needs
#   scripts/images-local.sh stop     stop what start started
#   scripts/images-local.sh status   print running/stopped; exit 0/1
#   scripts/images-local.sh clean    stop, then delete the run directory
#
# Variables:
#   IMAGES_LOCAL_PORT          the registry's port (29500); the module proxy
#                              listens on the next one
#   IMAGES_LOCAL_DIR           run directory (${TMPDIR:-/tmp}/kafka-scale-images):
#                              buildkit/ (BuildKit's root), registry/, logs/,
#                              run/, out/, check/
#   IMAGES_LOCAL_SERVICES      the services to build (every directory of services/)
#   VERSION, COMMIT            what the binaries report (git describe, git rev-parse)
#   KAFKA_SCALE_CACHE          cache (${XDG_CACHE_HOME:-$HOME/.cache}/kafka-scale);
#                              images/bin holds the tools, images/bases the
#                              Debian root file system and packages of the bases
set -euo pipefail

prog=images-local
# shellcheck source-path=SCRIPTDIR source=lib/local.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/local.sh"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

cache=$(absolute "${KAFKA_SCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-scale}")/images
bin=$cache/bin
bases=$cache/bases

dir=$(absolute "${IMAGES_LOCAL_DIR:-${TMPDIR:-/tmp}/kafka-scale-images}")
logs=$dir/logs
run=$dir/run
out=$dir/out
sock=$dir/buildkitd.sock

port=$(port_var IMAGES_LOCAL_PORT 29500)
goproxy_port=$((port + 1))
valid_port "$goproxy_port" || die "IMAGES_LOCAL_PORT=$port leaves no port after it for the module proxy"
registry=127.0.0.1:$port

start_timeout=60
stop_timeout=30

components=(registry goproxy buildkitd)

# The tag the charts deploy by default: their appVersion.
tag=$(sed -nE 's/^appVersion: *"?([^"]+)"?$/\1/p' "$root/charts/kafka-scale/Chart.yaml")
[ -n "$tag" ] || die "no appVersion in charts/kafka-scale/Chart.yaml"

VERSION=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}

if [ -n "${IMAGES_LOCAL_SERVICES:-}" ]; then
	read -r -a services <<<"$IMAGES_LOCAL_SERVICES"
else
	services=()
	for m in "$root"/services/*/go.mod; do services+=("$(basename "$(dirname "$m")")"); done
fi

# The packages of the stand-in for golang:1.26-bookworm, over mmdebstrap's
# minbase: what the official image adds to Debian for cgo builds (its Go
# comes from this machine). No librdkafka: confluent-kafka-go links the one
# it bundles.
golang_packages=(ca-certificates gcc git libc6-dev make netbase pkg-config tzdata)
# The packages distroless/base-debian12 is made of.
distroless_packages=(base-files netbase tzdata media-types ca-certificates gcc-12-base libgcc-s1 libc6 libssl3)

binary() {
	case $1 in
	goproxy) echo /usr/bin/python3 ;;
	*) echo "$bin/$1" ;;
	esac
}

# A process is a component of this directory when its program is the
# component's and its command line names this directory (the module proxy:
# its port, as it serves the module cache from elsewhere).
ours() { # component pid
	local args
	[ -r "/proc/$2/cmdline" ] || return 1
	args=$(tr '\0' '\n' <"/proc/$2/cmdline" 2>/dev/null) || return 1
	[ "$(head -n 1 <<<"$args")" = "$(binary "$1")" ] || return 1
	case $1 in
	goproxy) grep -qxF -- "$goproxy_port" <<<"$args" && grep -qxF -- "--bind" <<<"$args" ;;
	*) grep -qF -- "$dir/" <<<"$args" ;;
	esac
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "$1 needs root: buildkitd runs the build's containers with runc, rootful"
}

# The tools, built from tools/images/go.mod once for each go.sum: the stamp
# holds the go.sum's hash.
install() {
	local stamp want
	want=$(sha256sum "$root/tools/images/go.sum" | cut -d' ' -f1)
	stamp=$(cat "$bin/.version" 2>/dev/null || true)
	if [ "$stamp" = "$want" ] && [ -x "$bin/buildkitd" ] && [ -x "$bin/buildctl" ] && [ -x "$bin/registry" ]; then
		return 0
	fi
	command -v go >/dev/null || die "Go is needed to build BuildKit and the registry"
	log "building buildkitd, buildctl and registry (tools/images/go.mod) into $bin (a few minutes the first time)"
	mkdir -p "$bin"
	rm -f "$bin/.version"
	(cd "$root/tools/images" && GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -o "$bin/" \
		github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl \
		github.com/distribution/distribution/v3/cmd/registry) ||
		die "building the tools of tools/images failed"
	echo "$want" >"$bin/.version"
}

running() {
	local c
	for c in "${components[@]}"; do running_pid "$c" >/dev/null || return 1; done
}

registry_up() { curl -fsS "http://$registry/v2/" >/dev/null; }
goproxy_up() { curl -fsS "http://127.0.0.1:$goproxy_port/" >/dev/null; }
buildkitd_up() { "$bin/buildctl" --addr "unix://$sock" debug workers >/dev/null; }

start() {
	need_root start
	command -v runc >/dev/null || die "runc is needed (make deps installs it)"
	install
	lock_dir 60
	if running; then
		return 0
	fi
	stop_all
	deadline=$((SECONDS + start_timeout))
	mkdir -p "$dir/registry" "$dir/buildkit"
	port_free "$port" "the image registry" IMAGES_LOCAL_PORT
	port_free "$goproxy_port" "the module proxy" IMAGES_LOCAL_PORT
	cat >"$dir/registry.yaml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/registry
  delete:
    enabled: true
http:
  addr: $registry
EOF
	# docker.io and gcr.io resolve to the local registry first; the build
	# checks that the bases are there before it starts, so nothing falls
	# through to the real ones.
	cat >"$dir/buildkitd.toml" <<EOF
[worker.oci]
  enabled = true
  binary = "runc"
  gc = true
  # The build's RUN steps share this machine's loopback, where the module proxy listens.
  networkMode = "host"
[worker.containerd]
  enabled = false
[registry."docker.io"]
  mirrors = ["$registry"]
[registry."gcr.io"]
  mirrors = ["$registry"]
[registry."$registry"]
  http = true
EOF
	log "starting the registry on $registry"
	launch registry serve "$dir/registry.yaml"
	log "serving the Go module cache on 127.0.0.1:$goproxy_port"
	GOWORK=off go env GOMODCACHE >"$run/gomodcache"
	launch goproxy -m http.server --bind 127.0.0.1 --directory "$(cat "$run/gomodcache")/cache/download" "$goproxy_port"
	log "starting buildkitd (root $dir/buildkit)"
	launch buildkitd --config "$dir/buildkitd.toml" --root "$dir/buildkit" --addr "unix://$sock"
	wait_for "the registry on $registry" registry_up
	wait_for "the module proxy on 127.0.0.1:$goproxy_port" goproxy_up
	wait_for "buildkitd on $sock" buildkitd_up
}

stop_all() {
	stop_components buildkitd goproxy registry
}

stop() {
	lock_dir 60
	stop_all
	umount_all
}

# What buildkitd left mounted under its root if it did not exit cleanly.
umount_all() {
	local m
	while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" || log "cannot unmount $m"
	done < <(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
}

buildctl() { "$bin/buildctl" --addr "unix://$sock" "$@"; }

# Pushes an image built by buildctl to the local registry.
push_output() { # name
	echo "type=image,name=$registry/$1,push=true,registry.insecure=true"
}

has_image() { # repository tag
	curl -fs -o /dev/null -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
		"http://$registry/v2/$1/manifests/$2"
}

# The Debian root file system of the golang stand-in, made once: a cached one
# is kept while it holds every package of the list.
golang_rootfs() {
	local tar=$bases/golang-rootfs.tar installed p missing=()
	if [ -f "$tar" ]; then
		installed=$(tar -xOf "$tar" ./var/lib/dpkg/status 2>/dev/null |
			awk '/^Package:/ {p = $2} /^Status: install ok installed/ {print p}')
		for p in "${golang_packages[@]}"; do grep -qxF "$p" <<<"$installed" || missing+=("$p"); done
		[ ${#missing[@]} -eq 0 ] && return 0
		log "$tar lacks ${missing[*]}; making it again"
	fi
	command -v mmdebstrap >/dev/null || die "mmdebstrap is needed (make deps installs it)"
	log "making a Debian 12 root file system with mmdebstrap: ${golang_packages[*]} (a few minutes)"
	mkdir -p "$bases"
	# The mirror is this machine's own apt sources, deb822 or one-line.
	local sources
	for sources in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list ""; do
		[ -z "$sources" ] || [ -s "$sources" ] && break
	done
	[ -n "$sources" ] || die "no apt sources in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list for mmdebstrap"
	local IFS=,
	mmdebstrap --quiet --variant=minbase --include="${golang_packages[*]}" bookworm "$tar.tmp" \
		"$sources" >"$logs/mmdebstrap.log" 2>&1 ||
		{ tail -n 20 "$logs/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $logs/mmdebstrap.log)"; }
	mv "$tar.tmp" "$tar"
}

# The distroless packages, as .debs of the versions apt has now.
distroless_debs() {
	local debs=$bases/distroless-debs p
	mkdir -p "$debs"
	for p in "${distroless_packages[@]}"; do
		compgen -G "$debs/${p}_*.deb" >/dev/null && continue
		(cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "$p") || die "apt-get download $p failed"
	done
}

bases() {
	local goroot
	if ! has_image library/golang 1.26-bookworm; then
		golang_rootfs
		goroot=$(go env GOROOT)
		log "building the golang:1.26-bookworm stand-in (Debian 12 root file system and $goroot)"
		buildctl build --progress plain --frontend dockerfile.v0 \
			--local context="$bases" --local dockerfile="$here/images-local" --opt filename=golang.Dockerfile \
			--local go="$goroot" --opt context:go=local:go \
			--output "$(push_output library/golang:1.26-bookworm)" >"$logs/golang.build.log" 2>&1 ||
			{ tail -n 30 "$logs/golang.build.log" >&2; die "building the golang stand-in failed (log: $logs/golang.build.log)"; }
	fi
	if ! has_image distroless/base-debian12 nonroot; then
		distroless_debs
		log "building the distroless/base-debian12:nonroot stand-in from ${distroless_packages[*]}"
		buildctl build --progress plain --frontend dockerfile.v0 \
			--local context="$bases/distroless-debs" --local dockerfile="$here/images-local" --opt filename=distroless.Dockerfile \
			--output "$(push_output distroless/base-debian12:nonroot)" >"$logs/distroless.build.log" 2>&1 ||
			{ tail -n 30 "$logs/distroless.build.log" >&2; die "building the distroless stand-in failed (log: $logs/distroless.build.log)"; }
	fi
}

build() {
	local s t0
	need_root build
	start
	mkdir -p "$out"
	bases
	if ! has_image library/golang 1.26-bookworm || ! has_image distroless/base-debian12 nonroot; then
		die "the stand-in bases are not in the registry at $registry"
	fi
	for s in "${services[@]}"; do
		# The module cache holds what the service needs, fetched here once.
		(cd "$root/services/$s" && GOWORK=off go mod download) || die "go mod download in services/$s failed"
	done
	for s in "${services[@]}"; do
		t0=$SECONDS
		log "building ghcr.io/kafka-scale/$s:$tag from the Dockerfile (target $s, VERSION=$VERSION COMMIT=$COMMIT)"
		buildctl build --progress plain --frontend dockerfile.v0 \
			--local context="$root" --local dockerfile="$root" \
			--opt target="$s" --opt build-arg:SERVICE="$s" \
			--opt build-arg:VERSION="$VERSION" --opt build-arg:COMMIT="$COMMIT" \
			--opt build-arg:GOPROXY="http://127.0.0.1:$goproxy_port" \
			--output "type=oci,name=ghcr.io/kafka-scale/$s:$tag,dest=$out/$s.tar.tmp" >"$logs/$s.build.log" 2>&1 ||
			{ tail -n 40 "$logs/$s.build.log" >&2; die "building $s failed (log: $logs/$s.build.log)"; }
		mv "$out/$s.tar.tmp" "$out/$s.tar"
		log "$s: $out/$s.tar ($(du -h "$out/$s.tar" | cut -f1)) in $((SECONDS - t0)) s"
	done
}

# unpack TAR DIR: the OCI image's config into DIR/config.json and its layers,
# in order, into DIR/rootfs.
unpack() {
	local tar=$1 d=$2 blobs digest mt layer w w_name
	rm -rf "$d"
	mkdir -p "$d/oci" "$d/rootfs"
	tar -xf "$tar" -C "$d/oci"
	blobs=$d/oci/blobs
	digest=$(jq -r '.manifests[0].digest' "$d/oci/index.json")
	mt=$(jq -r '.mediaType // empty' "$blobs/${digest/://}")
	if [ "$mt" = application/vnd.oci.image.index.v1+json ]; then
		digest=$(jq -r '.manifests[] | select(.platform.architecture != "unknown") | .digest' "$blobs/${digest/://}" | head -n 1)
	fi
	jq -r '.config.digest' "$blobs/${digest/://}" | { read -r c; cp "$blobs/${c/://}" "$d/config.json"; }
	while read -r layer; do
		tar -xzf "$blobs/${layer/://}" -C "$d/rootfs"
		# Whiteouts: a later layer's deletions.
		while read -r w; do
			w_name=$(basename "$w")
			w_name=${w_name#.wh.}
			rm -rf "${w%/*}/${w_name:?}" "$w"
		done < <(find "$d/rootfs" -name '.wh.*' ! -name '.wh..wh..opq')
	done < <(jq -r '.layers[].digest' "$blobs/${digest/://}")
	rm -rf "$d/oci"
}

# The newest of dotted versions.
newest() { sort -V | tail -n 1; }

# link_check SERVICE ROOTFS BINARY: every library the binary needs resolves
# in the image (the image's own loader says), and it needs no glibc symbol
# version newer than the image's glibc.
link_check() {
	local s=$1 rootfs=$2 bin_path=$3 ld needed resolved lib glibc_need glibc_have ok=0
	ld=$(cd "$rootfs" && { compgen -G 'lib*/ld-linux*.so.*' || compgen -G 'usr/lib*/ld-linux*.so.*'; } | head -n 1)
	if [ -z "$ld" ]; then
		log "FAIL $s: no dynamic loader in the image"
		return 1
	fi
	needed=$(readelf -dW "$rootfs$bin_path" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
	if ! resolved=$(chroot "$rootfs" "/$ld" --list "$bin_path" 2>&1); then
		log "FAIL $s: the image's loader cannot load it: $resolved"
		ok=1
	else
		for lib in $needed; do
			grep -qE "^[[:space:]]*(/.*/)?$lib( => /[^ ]+)? \(0x" <<<"$resolved" ||
				{ log "FAIL $s: needs $lib, which the image lacks: $(grep -F "$lib" <<<"$resolved")"; ok=1; }
		done
	fi
	glibc_need=$(readelf -VW "$rootfs$bin_path" | grep -oE 'Name: GLIBC_[0-9.]+' | sed 's/Name: GLIBC_//' | newest)
	glibc_have=$(chroot "$rootfs" "/$ld" --version | sed -nE '1s/.* version ([0-9.]+)\.$/\1/p')
	echo "$s: links $(tr '\n' ' ' <<<"$needed" | sed 's/ $//'); needs glibc up to GLIBC_$glibc_need; the image has glibc $glibc_have"
	if [ -z "$glibc_have" ] || [ "$(printf '%s\n%s\n' "$glibc_need" "$glibc_have" | newest)" != "$glibc_have" ]; then
		log "FAIL $s: needs GLIBC_$glibc_need, newer than the image's glibc ${glibc_have:-(unknown)}"
		ok=1
	fi
	return "$ok"
}

# version_check SERVICE ROOTFS BINARY: the binary, run in the image's root
# file system as the image's user, prints the build's VERSION and COMMIT and
# the librdkafka that confluent-kafka-go bundles.
version_check() {
	local s=$1 rootfs=$2 bin_path=$3 got want_rdk rdk
	if ! got=$(chroot --userspec=65532:65532 "$rootfs" "$bin_path" --version 2>&1); then
		log "FAIL $s: $bin_path --version in the image: $got"
		return 1
	fi
	echo "$s: --version: $got"
	want_rdk=$(cd "$root/services/$s" && GOWORK=off go list -m -f '{{.Version}}' github.com/confluentinc/confluent-kafka-go/v2)
	rdk=$(sed -nE "s/^$s ${VERSION//./[.]} \(commit $COMMIT, go[0-9.]+ linux\/[a-z0-9]+\), librdkafka ([0-9][^ ]*)$/\1/p" <<<"$got")
	if [ -z "$rdk" ]; then
		log "FAIL $s: --version does not read '$s $VERSION (commit $COMMIT, go... linux/...), librdkafka X.Y.Z'"
		return 1
	fi
	if [ "v$rdk" != "$want_rdk" ]; then
		log "FAIL $s: librdkafka $rdk, but confluent-kafka-go $want_rdk bundles ${want_rdk#v}"
		return 1
	fi
}

check() {
	local s d bin_path cfg fails=0
	need_root check
	command -v jq >/dev/null || die "jq is needed (make deps installs it)"
	command -v readelf >/dev/null || die "readelf is needed (binutils; make deps installs it)"
	for s in "${services[@]}"; do
		[ -f "$out/$s.tar" ] || die "no $out/$s.tar: run $0 build first"
	done
	for s in "${services[@]}"; do
		d=$dir/check/$s
		unpack "$out/$s.tar" "$d"
		cfg=$d/config.json
		bin_path=/usr/local/bin/$s
		[ "$(jq -c '.config.Entrypoint' "$cfg")" = "[\"$bin_path\"]" ] ||
			{ log "FAIL $s: entry point $(jq -c '.config.Entrypoint' "$cfg"), want [\"$bin_path\"]"; fails=1; }
		[ "$(jq -r '.config.User' "$cfg")" = 65532:65532 ] ||
			{ log "FAIL $s: user $(jq -r '.config.User' "$cfg"), want 65532:65532 (nonroot)"; fails=1; }
		jq -e '.config.ExposedPorts | has("9090/tcp")' "$cfg" >/dev/null ||
			{ log "FAIL $s: the admin port 9090 is not exposed"; fails=1; }
		if [ -f "$d/rootfs$bin_path" ]; then
			link_check "$s" "$d/rootfs" "$bin_path" || fails=1
			version_check "$s" "$d/rootfs" "$bin_path" || fails=1
		else
			log "FAIL $s: no $bin_path in the image"
			fails=1
		fi
		echo "$s: image $(du -h "$out/$s.tar" | cut -f1) (OCI tar, compressed layers), $(du -sh "$d/rootfs" | cut -f1) unpacked"
	done
	[ "$fails" -eq 0 ] || die "check failed"
	log "check passed: ${services[*]}"
}

status() {
	local c p all=0
	for c in "${components[@]}"; do
		if p=$(running_pid "$c"); then echo "$c: running (pid $p)"; else
			echo "$c: stopped"
			all=1
		fi
	done
	return "$all"
}

case ${1:-} in
install) install ;;
start) start ;;
build) build ;;
check) check ;;
stop) stop ;;
status) status ;;
clean)
	stop
	rm -rf "$dir"
	;;
*) die "usage: $0 install|start|build|check|stop|status|clean" ;;
esac
