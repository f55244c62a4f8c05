#!/usr/bin/env bash
# Runs a real three-node Apache Kafka 4 cluster (KRaft) on 127.0.0.1 for the
# tests of broker failures: every node is broker and controller, the three
# form the controller quorum, and topics get three replicas with two in sync
# (min.insync.replicas=2), as in production. Each node is a
# scripts/kafka-local.sh broker of its own (port, directory, log, pid), so any
# one can be stopped, killed, paused and started again on its own, with
# kafka-local.sh's broker settings (such as the KIP-848 heartbeat interval).
#
#   scripts/kafka-cluster.sh start [N...]   start every node (or nodes N); the
#                                           last line on stdout is the bootstrap list
#   scripts/kafka-cluster.sh stop [N...]    stop every node (or nodes N), SIGTERM
#   scripts/kafka-cluster.sh kill N         SIGKILL node N
#   scripts/kafka-cluster.sh pause N        SIGSTOP node N
#   scripts/kafka-cluster.sh resume N       SIGCONT node N
#   scripts/kafka-cluster.sh status         each node's state; exit 0 if all run
#   scripts/kafka-cluster.sh bootstrap      print the bootstrap list
#   scripts/kafka-cluster.sh port N         print node N's client port
#   scripts/kafka-cluster.sh clean          stop every node, delete their directories
#   scripts/kafka-cluster.sh tool NAME ...  a Kafka command-line tool (kafka-local.sh tool)
#
# Environment:
#   KAFKA_CLUSTER_PORT  node 1's client port (19092); node N's is that plus
#                       10*(N-1), its controller port the next one
#   KAFKA_CLUSTER_DIR   the nodes' directories, node-N under it
#                       (${TMPDIR:-/tmp}/kafka-scale-cluster-$KAFKA_CLUSTER_PORT)
#   and kafka-local.sh's: KAFKA_VERSION, KAFKA_HEAP_OPTS, KAFKA_LOCAL_EXTRA_CONFIG, ...
set -euo pipefail

prog=kafka-cluster
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/local.sh
source "$here/lib/local.sh"

nodes=(1 2 3)
base=$(port_var KAFKA_CLUSTER_PORT 19092)
[ "$base" -le 65500 ] || die "KAFKA_CLUSTER_PORT=$base: want at most 65500 (the nodes use the 22 ports from it)"
cdir=$(absolute "${KAFKA_CLUSTER_DIR:-${TMPDIR:-/tmp}/kafka-scale-cluster-$base}")

port_of() { echo $((base + 10 * ($1 - 1))); }
bootstrap() {
	local n list=()
	for n in "${nodes[@]}"; do list+=("127.0.0.1:$(port_of "$n")"); done
	(IFS=,; echo "${list[*]}")
}
quorum() {
	local n list=()
	for n in "${nodes[@]}"; do list+=("$n@127.0.0.1:$(($(port_of "$n") + 1))"); done
	(IFS=,; echo "${list[*]}")
}
check_node() { # N
	[[ ${1:-} =~ ^[1-3]$ ]] || die "node ${1:-(none)}: want 1, 2 or 3"
}

# node N CMD...: kafka-local.sh as node N of the cluster.
node() {
	local n=$1
	shift
	KAFKA_NODE_ID=$n KAFKA_PORT=$(port_of "$n") KAFKA_CONTROLLER_PORT=$(($(port_of "$n") + 1)) \
		KAFKA_LOCAL_DIR="$cdir/node-$n" KAFKA_CONTROLLER_QUORUM=$(quorum) KAFKA_CLUSTER_ID=$(cluster_id) \
		KAFKA_REPLICATION_FACTOR=3 KAFKA_MIN_INSYNC_REPLICAS=2 \
		"$here/kafka-local.sh" "$@"
}

# cluster_id is made once per cluster directory; every node's storage is
# formatted with it.
cluster_id() {
	if [ ! -s "$cdir/cluster.id" ]; then
		mkdir -p "$cdir"
		"$here/kafka-local.sh" tool kafka.tools.StorageTool random-uuid >"$cdir/cluster.id.tmp"
		mv "$cdir/cluster.id.tmp" "$cdir/cluster.id"
	fi
	cat "$cdir/cluster.id"
}

selected() { # N... -> the nodes given, or all
	if [ $# -eq 0 ]; then
		echo "${nodes[@]}"
		return
	fi
	local n
	for n in "$@"; do check_node "$n"; done
	echo "$@"
}

cmd_start() {
	local n todo
	read -r -a todo <<<"$(selected "$@")"
	cluster_id >/dev/null
	# A node serves clients only once a quorum of controllers runs, so all
	# are launched before any is waited for.
	for n in "${todo[@]}"; do
		node "$n" status >/dev/null 2>&1 || KAFKA_START_WAIT=0 node "$n" start >/dev/null
	done
	for n in "${todo[@]}"; do node "$n" wait; done
	log "serving on $(bootstrap)"
	bootstrap
}

cmd_stop() {
	local n todo
	read -r -a todo <<<"$(selected "$@")"
	[ -d "$cdir" ] || return 0
	for n in "${todo[@]}"; do
		# A paused node cannot act on SIGTERM until it runs again.
		node "$n" signal CONT >/dev/null 2>&1 || true
		node "$n" stop
	done
}

cmd_status() {
	local n code=0 line
	for n in "${nodes[@]}"; do
		if line=$(node "$n" status 2>/dev/null); then
			echo "node $n: $line"
		else
			echo "node $n: stopped"
			code=1
		fi
	done
	return $code
}

cmd_clean() {
	cmd_stop
	[ -d "$cdir" ] || return 0
	local n
	for n in "${nodes[@]}"; do node "$n" clean; done
	rm -f "$cdir/cluster.id"
	rmdir "$cdir" 2>/dev/null || true
}

case ${1:-} in
start)
	shift
	cmd_start "$@"
	;;
stop)
	shift
	cmd_stop "$@"
	;;
kill | pause | resume)
	check_node "${2:-}"
	case $1 in kill) sig=KILL ;; pause) sig=STOP ;; resume) sig=CONT ;; esac
	node "$2" signal "$sig"
	;;
status) cmd_status ;;
bootstrap) bootstrap ;;
port)
	check_node "${2:-}"
	port_of "$2"
	;;
clean) cmd_clean ;;
tool)
	shift
	exec "$here/kafka-local.sh" tool "$@"
	;;
*)
	echo "usage: $0 start [N...]|stop [N...]|kill N|pause N|resume N|status|bootstrap|port N|clean|tool NAME [ARG...]" >&2
	exit 2
	;;
esac
