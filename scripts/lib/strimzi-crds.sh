# shellcheck shell=bash
# Strimzi's own KafkaTopic and KafkaUser CustomResourceDefinitions, for the
# local control plane of kube-local.sh, which sources this file.
#
# They come from Strimzi's Maven artifact io.strimzi:api, classifier tests,
# whose crds/v1beta2/ holds the CRDs Strimzi generates from its API model:
# every version it serves (v1, v1beta2, v1beta1, v1alpha1), each with its full
# schema. Apart from descriptions they are the files of Strimzi's install YAML
# (install/cluster-operator/043-Crd-kafkatopic.yaml and 044-Crd-kafkauser.yaml
# of its release), so the charts' objects are checked against the schema a
# real cluster with Strimzi has. mvn fetches the jar through the Maven
# repository it is configured with, as kafka-local.sh fetches Kafka's, failing
# on a checksum that does not match the repository's (-C); the CRDs of the
# default version are also checked against the sums below.
#
# The script sets, before calling these functions:
#   cache    the cache directory (the CRDs go to $cache/kube/crds/strimzi-<version>)
# and has log and die (lib/local.sh).
#
#   install_strimzi_crds    fetch and extract the CRDs, unless they are there
#   strimzi_crds_installed  whether they are there, whole
#   strimzi_crd_dir         the directory whose *.yaml are the CRDs to apply
#
# shellcheck disable=SC2154 # cache is the script's

STRIMZI_VERSION=${STRIMZI_VERSION:-0.49.0}

# The same plugin as kafka-local.sh's.
strimzi_dependency_plugin=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
strimzi_crd_names=(043-Crd-kafkatopic.yaml 044-Crd-kafkauser.yaml)
strimzi_crd_dir() { echo "$cache/kube/crds/strimzi-$STRIMZI_VERSION"; }

# The CRDs' sha256 sums in the jar of a version checked once by hand; for
# another version mvn's check of the jar's checksum is the only one.
strimzi_crd_sums() {
	case $STRIMZI_VERSION in
	0.49.0)
		echo "fd069481630292533492221a8f9e57c353b46edc40c6301a05fa6a522ab0d4a6  043-Crd-kafkatopic.yaml"
		echo "2795e4251ca38d455748da02ea93c55c7674d7360d081e5f95492290a546d0b8  044-Crd-kafkauser.yaml"
		;;
	esac
}

# .complete holds the sums of the CRDs as extracted, so a missing, truncated
# or edited file, or one left by another layout, counts as not installed.
strimzi_crds_installed() {
	local d
	d=$(strimzi_crd_dir)
	[ -s "$d/.complete" ] && (cd "$d" && sha256sum --quiet --strict -c .complete >/dev/null 2>&1)
}

install_strimzi_crds() {
	strimzi_crds_installed && return 0
	command -v mvn >/dev/null 2>&1 ||
		die "mvn not found: it fetches Strimzi's CRDs once (Debian: apt-get install maven, or scripts/install-deps.sh)"
	local d tmp includes f want
	d=$(strimzi_crd_dir)
	tmp=$d.tmp
	printf -v includes 'crds/v1beta2/%s,' "${strimzi_crd_names[@]}"
	log "fetching Strimzi $STRIMZI_VERSION's CRDs (io.strimzi:api, classifier tests) with mvn into $d (once)"
	rm -rf "$tmp"
	mkdir -p "$tmp/mvn"
	# From a directory of its own: without a project, unpack writes its
	# markers under a "${project.basedir}" directory of the current one.
	if ! (cd "$tmp/mvn" && mvn -B -ntp -C "$strimzi_dependency_plugin:unpack" \
		-Dartifact="io.strimzi:api:$STRIMZI_VERSION:jar:tests" -Dmdep.unpack.includes="${includes%,}" \
		-DoutputDirectory="$tmp/mvn/jar" >"$tmp/mvn/fetch.log" 2>&1); then
		grep -E '^\[(ERROR|WARNING)\]' "$tmp/mvn/fetch.log" | head -n 20 >&2 || true
		die "mvn could not fetch io.strimzi:api:$STRIMZI_VERSION:jar:tests (is STRIMZI_VERSION a released version?); its output: $tmp/mvn/fetch.log"
	fi
	for f in "${strimzi_crd_names[@]}"; do
		[ -s "$tmp/mvn/jar/crds/v1beta2/$f" ] || die "io.strimzi:api:$STRIMZI_VERSION:jar:tests has no crds/v1beta2/$f"
		install -m 644 "$tmp/mvn/jar/crds/v1beta2/$f" "$tmp/$f"
	done
	want=$(strimzi_crd_sums)
	if [ -n "$want" ] && ! (cd "$tmp" && sha256sum --quiet --strict -c - <<<"$want" >&2); then
		die "Strimzi $STRIMZI_VERSION's CRDs in $tmp do not have the sha256 sums of scripts/lib/strimzi-crds.sh"
	fi
	(cd "$tmp" && sha256sum "${strimzi_crd_names[@]}" >.complete)
	rm -rf "$tmp/mvn" "$d"
	mv "$tmp" "$d"
}
