#!/usr/bin/env bash
# Runs the whole pipeline on this machine: a local Kafka broker, the
# aggregator, two computers and the reader on generated census files, then
# prints the housing and labor-force tables and stops everything it started.
#
#   scripts/demo.sh                       (make demo)
#   DEMO_RECORDS=150000 DEMO_MONTHS=jan,feb,mar DEMO_COMPUTERS=2 scripts/demo.sh
#   KAFKA_BOOTSTRAP_SERVERS=host:9092 scripts/demo.sh   (use an existing Kafka)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
bin="$root/bin"

year=${DEMO_YEAR:-2020}
months=${DEMO_MONTHS:-jan,feb,mar}
records=${DEMO_RECORDS:-150000}
computers=${DEMO_COMPUTERS:-2}
seed=${DEMO_SEED:-1}
api_port=${DEMO_API_PORT:-8080}
run_id=${DEMO_RUN_ID:-$(date +%s)}
# Fresh topic names per run, so a demo never counts an earlier one's data.
compute_topic="demo-$run_id-compute"
results_topic="demo-$run_id-results"

for b in reader computer aggregator kafka-scale; do
	if [ ! -x "$bin/$b" ]; then
		echo "demo: $bin/$b is missing; run make build" >&2
		exit 1
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/kafka-scale-demo.XXXXXX")
pids=()
started_kafka=0
cleanup() {
	local code=$?
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "$started_kafka" = 1 ]; then
		"$here/kafka-local.sh" stop >/dev/null 2>&1 || true
	fi
	if [ "$code" != 0 ]; then
		echo "demo: failed; logs in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*" >&2; }

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
	step "starting a local Kafka broker"
	if ! "$here/kafka-local.sh" status >/dev/null 2>&1; then
		started_kafka=1
	fi
	KAFKA_BOOTSTRAP_SERVERS=$("$here/kafka-local.sh" start | tail -n 1)
fi
export KAFKA_BOOTSTRAP_SERVERS
export LOG_FORMAT=json
echo "broker: $KAFKA_BOOTSTRAP_SERVERS" >&2

step "generating $records records for each of $months $year"
"$bin/kafka-scale" gen --out "$work/data" --year "$year" --months "$months" --records "$records" --seed "$seed" --expected >&2

step "starting the aggregator (API on 127.0.0.1:$api_port) and $computers computers"
"$bin/aggregator" --results-topic "$results_topic" --listen "127.0.0.1:$api_port" --metrics-addr 127.0.0.1:0 \
	2>"$work/aggregator.log" &
pids+=($!)
for i in $(seq 1 "$computers"); do
	"$bin/computer" --compute-topic "$compute_topic" --results-topic "$results_topic" --group "demo-$run_id" \
		--metrics-addr 127.0.0.1:0 2>"$work/computer-$i.log" &
	pids+=($!)
done

step "loading the files with the reader"
files=()
for f in "$work"/data/*.dat.gz; do files+=(--from-file "$f"); done
start=$(date +%s.%N)
"$bin/reader" --compute-topic "$compute_topic" "${files[@]}" --metrics-addr 127.0.0.1:0 2>"$work/reader.log" >"$work/reader.json"

step "waiting for every source to be complete"
"$bin/kafka-scale" wait --api "http://127.0.0.1:$api_port" --sources "$(find "$work/data" -name '*.dat.gz' | wc -l)" --timeout 10m >&2
end=$(date +%s.%N)
total=$((records * $(tr ',' '\n' <<<"$months" | wc -l)))
awk -v n="$total" -v s="$start" -v e="$end" -v c="$computers" \
	'BEGIN { printf "pipeline: %d records in %.1f s with %d computers: %.0f records/s\n", n, e - s, c, n / (e - s) }' >&2

step "results"
"$bin/kafka-scale" report --api "http://127.0.0.1:$api_port"
step "checking against the generator's expected tabulations"
"$bin/kafka-scale" report --api "http://127.0.0.1:$api_port" --check-expected "$work/data"
