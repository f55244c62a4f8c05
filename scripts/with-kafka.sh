#!/usr/bin/env bash
# Runs a command with a Kafka broker: KAFKA_BOOTSTRAP_SERVERS when it is set,
# else a local broker (scripts/kafka-local.sh, port KAFKA_PORT) that is
# started for the command and stopped after it, whatever the command's fate.
#
#   KAFKA_PORT=29092 scripts/with-kafka.sh go test -tags integration ./...
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -eq 0 ]; then
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
fi

if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
	echo "with-kafka: using the broker at $KAFKA_BOOTSTRAP_SERVERS" >&2
	exec "$@"
fi

started=0
if ! "$here/kafka-local.sh" status >/dev/null 2>&1; then
	started=1
fi
cleanup() {
	if [ "$started" = 1 ]; then
		"$here/kafka-local.sh" stop >&2 || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

addr=$("$here/kafka-local.sh" start | tail -n 1)
export KAFKA_BOOTSTRAP_SERVERS="$addr"
echo "with-kafka: broker at $addr" >&2
"$@"
