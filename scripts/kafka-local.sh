#!/usr/bin/env bash
# Runs a real single-node Apache Kafka broker on 127.0.0.1 for the integration
# tests, the benchmarks and the demo: KRaft in combined mode (broker and
# controller in one JVM), both consumer group protocols, transactions.
#
# The broker's jars come from Maven Central through mvn, once, into a cache
# outside the repository; later starts never touch the network. Each port gets
# its own directory with the data, the broker's log (kafka.log) and a pid file,
# so several brokers can run side by side.
#
#   scripts/kafka-local.sh start     start the broker (or find it running); the
#                                    last line on stdout is the bootstrap address
#   scripts/kafka-local.sh stop      stop the broker this script started
#   scripts/kafka-local.sh restart   stop, then start
#   scripts/kafka-local.sh status    print running/stopped; exit 0/1
#   scripts/kafka-local.sh clean     stop, then delete the broker's directory
#   scripts/kafka-local.sh fetch     fetch the jars into the cache (no broker)
#   scripts/kafka-local.sh signal SIG
#                                    send SIG (KILL, STOP, CONT, TERM) to the broker
#   scripts/kafka-local.sh wait      wait until the broker serves clients (after
#                                    a start with KAFKA_START_WAIT=0)
#   scripts/kafka-local.sh tool NAME [ARG...]
#                                    run a Kafka command-line tool, e.g.
#                                    tool kafka-topics --bootstrap-server 127.0.0.1:9092 --list
#
# KAFKA_SECURITY=sasl_ssl starts a broker that enforces who may do what: TLS
# with a CA of its own and SASL/SCRAM-SHA-512 on the client port, the
# StandardAuthorizer with no access where no ACL allows it, and one super
# user, admin. The CA, the admin's password and a client config for the
# tools are written to the broker's directory (scripts/README.md).
#
# Environment: see scripts/README.md.
set -euo pipefail

prog=kafka-local
# shellcheck source-path=SCRIPTDIR source=lib/local.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/local.sh"

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
# Kafka 4 logs through SLF4J 1.7 to Log4j 2; its own distribution ships 2.24.
LOG4J_VERSION=2.24.3
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

port=$(port_var KAFKA_PORT 9092)
cport=$(port_var KAFKA_CONTROLLER_PORT $((port + 1)))
[ "$cport" != "$port" ] || die "KAFKA_CONTROLLER_PORT must differ from KAFKA_PORT ($port)"
addr=127.0.0.1:$port

# A second plaintext listener on another address, advertised as such, for
# clients that cannot reach loopback: the pods of kube-local.sh's node reach
# the host on its pod bridge, 10.244.0.1.
extra=${KAFKA_EXTRA_LISTENER:-}
if [ -n "$extra" ]; then
	[[ $extra =~ ^([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+):([0-9]+)$ ]] ||
		die "KAFKA_EXTRA_LISTENER=$extra: want an IPv4 address and a port, e.g. 10.244.0.1:9094"
	extra_host=${BASH_REMATCH[1]} extra_port=${BASH_REMATCH[2]}
	valid_port "$extra_port" || die "KAFKA_EXTRA_LISTENER=$extra: $extra_port is not a port number"
	if [ "$extra_host" = 127.0.0.1 ] && { [ "$extra_port" = "$port" ] || [ "$extra_port" = "$cport" ]; }; then
		die "KAFKA_EXTRA_LISTENER=$extra takes the broker's own listener or its controller's"
	fi
fi

# One node of a cluster (scripts/kafka-cluster.sh sets these): its id, the
# controller quorum, the cluster id its storage is formatted with, and the
# replication of the topics. Alone, the node is the whole cluster.
node_id=${KAFKA_NODE_ID:-1}
[[ $node_id =~ ^[0-9]+$ ]] || die "KAFKA_NODE_ID=$node_id is not a number"
quorum=${KAFKA_CONTROLLER_QUORUM:-$node_id@127.0.0.1:$cport}
replicas=${KAFKA_REPLICATION_FACTOR:-1}
min_isr=${KAFKA_MIN_INSYNC_REPLICAS:-1}
[[ $replicas =~ ^[1-9][0-9]*$ ]] || die "KAFKA_REPLICATION_FACTOR=$replicas is not a number"
if ! [[ $min_isr =~ ^[1-9][0-9]*$ ]] || [ "$min_isr" -gt "$replicas" ]; then
	die "KAFKA_MIN_INSYNC_REPLICAS=$min_isr: want a number from 1 to KAFKA_REPLICATION_FACTOR ($replicas)"
fi

cache=$(absolute "${KAFKA_SCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-scale}")
vdir=$cache/kafka/$KAFKA_VERSION
libs=$vdir/libs

dir=${KAFKA_LOCAL_DIR:-${TMPDIR:-/tmp}/kafka-scale-kafka-$port}
dir=$(absolute "$dir")
config=$dir/server.properties
data=$dir/data
# The broker is the component kafka of lib/local.sh, its log and pid file in dir.
logs=$dir
run=$dir
logfile=$logs/kafka.log
pidfile=$run/kafka.pid
# Marks a directory as this script's, so that clean never deletes anything else.
marker=$dir/.kafka-local

# plaintext, or sasl_ssl: TLS and SCRAM on the client port, ACLs enforced.
security=${KAFKA_SECURITY:-plaintext}
[ -z "$extra" ] || [ "$security" = plaintext ] ||
	die "KAFKA_EXTRA_LISTENER is for KAFKA_SECURITY=plaintext only, not $security"
case $security in plaintext | sasl_ssl) ;; *) die "KAFKA_SECURITY=$security: want plaintext or sasl_ssl" ;; esac
tls=$dir/tls
admin_password_file=$dir/admin.password
admin_config=$dir/admin.properties

start_timeout=${KAFKA_START_TIMEOUT:-60}
stop_timeout=${KAFKA_STOP_TIMEOUT:-30}
[[ $start_timeout =~ ^[0-9]+$ ]] || die "KAFKA_START_TIMEOUT=$start_timeout is not a number of seconds"
[[ $stop_timeout =~ ^[0-9]+$ ]] || die "KAFKA_STOP_TIMEOUT=$stop_timeout is not a number of seconds"
# How long a start, stop or clean waits for another on the same directory.
lock_wait=$((start_timeout + stop_timeout + 30))

java_bin() {
	if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
		echo "$JAVA_HOME/bin/java"
	elif command -v java >/dev/null 2>&1; then
		command -v java
	else
		die "java not found: Kafka $KAFKA_VERSION needs Java 17 or later (Debian: apt-get install default-jre-headless, or scripts/install-deps.sh)"
	fi
}

check_java() {
	java=$(java_bin)
	local line major
	line=$("$java" -version 2>&1 | head -n 1) || die "$java -version failed"
	major=$(java_version "$java")
	major=${major%%[._-]*}
	if ! [[ $major =~ ^[0-9]+$ ]] || [ "$major" -lt 17 ]; then
		die "Kafka $KAFKA_VERSION needs Java 17 or later; $java is: $line"
	fi
}

pom() {
	cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by kafka-scale's scripts/kafka-local.sh: the jars of a Kafka broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafka-scale</groupId>
  <artifactId>kafka-local</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- The broker (kafka.Kafka) and the storage formatter (kafka.tools.StorageTool). -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- Command-line tools (topics, groups, perf tests); Connect is left out. -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
        <exclusion><groupId>com.fasterxml.jackson.jakarta.rs</groupId><artifactId>jackson-jakarta-rs-json-provider</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
}

pom_sum() { pom | sha256sum | cut -d' ' -f1; }

fetched() { [ -f "$vdir/.complete" ] && [ "$(cat "$vdir/.complete")" = "$(pom_sum)" ]; }

fetch() {
	fetched && return 0
	command -v mvn >/dev/null 2>&1 ||
		die "mvn not found: it fetches the Kafka jars once (Debian: apt-get install maven, or scripts/install-deps.sh)"
	mkdir -p "$vdir"
	# One fetch at a time; whoever waited finds the jars there.
	exec 8>"$vdir/.lock"
	flock -w 900 8 || die "timed out waiting for another fetch of Kafka $KAFKA_VERSION ($vdir/.lock)"
	if ! fetched; then
		log "fetching Kafka $KAFKA_VERSION jars with mvn into $libs (once)"
		local t0=$SECONDS
		pom >"$vdir/pom.xml"
		rm -rf "$vdir/libs.tmp"
		if ! mvn -B -ntp -f "$vdir/pom.xml" "$DEPENDENCY_PLUGIN:copy-dependencies" \
			-DincludeScope=runtime -DoutputDirectory="$vdir/libs.tmp" >"$vdir/fetch.log" 2>&1; then
			grep -E '^\[(ERROR|WARNING)\]' "$vdir/fetch.log" | head -n 20 >&2 || true
			rm -rf "$vdir/libs.tmp"
			die "mvn could not fetch Kafka $KAFKA_VERSION (is KAFKA_VERSION a released version?); its output: $vdir/fetch.log"
		fi
		rm -rf "$libs"
		mv "$vdir/libs.tmp" "$libs"
		pom_sum >"$vdir/.complete"
		log "fetched $(find "$libs" -name '*.jar' | wc -l) jars in $((SECONDS - t0)) s"
	fi
	exec 8>&-
}

# Whether pid is our broker: a process whose command line is our java running
# kafka.Kafka with this directory's config. The component is always kafka;
# running_pid kafka gives the broker's pid, if it runs.
ours() { # component pid
	local cmdline
	[ -r "/proc/$2/cmdline" ] || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null) || return 1
	[[ $cmdline == *" kafka.Kafka $config "* ]]
}

# make_ca makes the CA and the broker's certificate and keystore in tls,
# the keystore's password the admin's.
make_ca() {
	# A chain of &&: set -e does not hold in the condition this runs in.
	cd "$tls" && umask 077 &&
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=kafka-local CA" \
			-keyout ca.key -out ca.crt &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout broker.key -out broker.csr &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >broker.ext &&
		openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
			-extfile broker.ext -out broker.crt &&
		openssl pkcs12 -export -in broker.crt -inkey broker.key -certfile ca.crt -name broker \
			-passout "file:$admin_password_file" -out broker.p12.tmp &&
		mv broker.p12.tmp broker.p12 && chmod 644 ca.crt && rm -f broker.csr broker.ext
}

# The secure mode's files, made once per directory: a CA (ca.crt, ca.key)
# that signs the broker's certificate (for 127.0.0.1 and localhost), the
# broker's key and certificate in a PKCS12 keystore, the admin's password,
# and admin.properties, the client config of the tools as admin.
make_secrets() {
	command -v openssl >/dev/null 2>&1 ||
		die "openssl not found: KAFKA_SECURITY=sasl_ssl makes its CA with it (Debian: apt-get install openssl)"
	mkdir -p "$tls"
	if [ ! -s "$admin_password_file" ]; then
		(umask 077 && openssl rand -hex 16 >"$admin_password_file")
	fi
	if [ ! -s "$tls/broker.p12" ]; then
		local out
		if ! out=$(make_ca 2>&1); then
			die "making the CA and broker certificate in $tls failed: $out"
		fi
		log "made a CA ($tls/ca.crt) and the broker's certificate for 127.0.0.1"
	fi
	local pw
	pw=$(cat "$admin_password_file")
	(umask 077 && cat >"$admin_config" <<EOF
# Written by kafka-scale's scripts/kafka-local.sh: the Kafka tools as the
# super user admin, e.g. tool kafka-topics --command-config $admin_config ...
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$pw";
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.crt
EOF
	)
}

# The secure mode's listeners. Clients and the broker itself (inter-broker
# traffic) use SASL_SSL with SCRAM-SHA-512 on the client port, the broker as
# admin; the controller port is SASL_PLAINTEXT with PLAIN, the admin its only
# user, on loopback: KRaft controllers cannot use SCRAM, whose credentials
# live in the metadata they serve. Every request is then made by an
# authenticated principal, and nothing but admin is a super user.
secure_listeners() {
	local pw
	pw=$(cat "$admin_password_file")
	cat <<EOF
listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SASL_SSL://127.0.0.1:$port
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$pw";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$pw" user_admin="$pw";
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/broker.p12
ssl.keystore.password=$pw
ssl.key.password=$pw
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.crt
ssl.client.auth=none

# Least privilege: only what an ACL allows, admin excepted.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
EOF
}

write_config() {
	{
		cat <<EOF
# Written by kafka-scale's scripts/kafka-local.sh at every start; edits are lost.
# A node that is both broker and controller, on 127.0.0.1 only.
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=$quorum
controller.listener.names=CONTROLLER
log.dirs=$data
EOF
		if [ "$security" = sasl_ssl ]; then secure_listeners; else
			cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport${extra:+,EXTRA://$extra}
advertised.listeners=PLAINTEXT://127.0.0.1:$port${extra:+,EXTRA://$extra}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${extra:+,EXTRA:PLAINTEXT}
inter.broker.listener.name=PLAINTEXT
EOF
		fi
		cat <<EOF

# $replicas replica(s) of everything, the internal topics included, and
# $min_isr in sync for a write with acks=all.
default.replication.factor=$replicas
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$replicas
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=$min_isr
# Fewer partitions of the internal topics than the default 50: created faster,
# and plenty for one machine.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10

# The services create their topics.
auto.create.topics.enable=false
num.partitions=1

# Both group protocols: classic (with the cooperative-sticky assignor) and the
# consumer protocol of KIP-848 (group.protocol=consumer).
group.coordinator.rebalance.protocols=classic,consumer
group.initial.rebalance.delay.ms=0
# KIP-848 members hear of a new assignment on their next heartbeat, whose
# interval the broker sets (default and least 5 s): a computer that joins
# waited for the others' heartbeat to give partitions up, then for its own
# to take them, 5.3 s from its start to its first chunk. At 250 ms, about
# 0.6 s; a heartbeat is one small request, four a second per member
# (charts/README.md: the same on a production cluster).
group.consumer.heartbeat.interval.ms=250
group.consumer.min.heartbeat.interval.ms=250
# A consumer that dies without leaving gives up its partitions after 10 s,
# not 45 s, so that tests of failover stay short.
group.consumer.session.timeout.ms=10000
group.consumer.min.session.timeout.ms=6000

# Bounded disk: a day, and at most 1 GiB a partition, in 128 MiB segments.
log.retention.hours=24
log.retention.bytes=1073741824
log.segment.bytes=134217728
log.retention.check.interval.ms=60000
log.cleaner.dedupe.buffer.size=33554432
EOF
	} >"$config"
	if [ -n "${KAFKA_LOCAL_EXTRA_CONFIG:-}" ]; then
		[ -r "$KAFKA_LOCAL_EXTRA_CONFIG" ] || die "KAFKA_LOCAL_EXTRA_CONFIG=$KAFKA_LOCAL_EXTRA_CONFIG is not a readable file"
		{
			echo
			echo "# From $KAFKA_LOCAL_EXTRA_CONFIG; later keys win."
			cat "$KAFKA_LOCAL_EXTRA_CONFIG"
		} >>"$config"
	fi

	cat >"$dir/log4j2.properties" <<'EOF'
# The broker's logging, to stdout, which start sends to kafka.log.
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
}

format_storage() {
	[ -f "$data/meta.properties" ] && return 0
	local id out
	id=${KAFKA_CLUSTER_ID:-}
	if [ -z "$id" ]; then
		id=$("$java" -cp "$libs/*" kafka.tools.StorageTool random-uuid) || die "could not make a cluster id"
	fi
	local scram=()
	# The admin's SCRAM credential goes into the metadata at format time:
	# the broker authenticates to itself with it before anyone could add it.
	[ "$security" = sasl_ssl ] && scram=(--add-scram "SCRAM-SHA-512=[name=admin,password=$(cat "$admin_password_file")]")
	if ! out=$("$java" -cp "$libs/*" kafka.tools.StorageTool format \
		--config "$config" --cluster-id "$id" --ignore-formatted "${scram[@]}" 2>&1); then
		die "formatting $data failed: $out"
	fi
	log "formatted $data (cluster id $id)"
}

kill_and_wait() { # pid
	local pid=$1 deadline=$((SECONDS + stop_timeout))
	kill -TERM "$pid" 2>/dev/null || true
	while ours kafka "$pid"; do
		if [ $SECONDS -ge $deadline ]; then
			log "broker (pid $pid) still running after ${stop_timeout} s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$((SECONDS + 10))
			while ours kafka "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
			ours kafka "$pid" && die "broker (pid $pid) survived SIGKILL"
			break
		fi
		sleep 0.2
	done
	rm -f "$pidfile"
}

stop_locked() {
	local pid
	if ! pid=$(running_pid kafka); then
		rm -f "$pidfile"
		return 1
	fi
	log "stopping the broker on $addr (pid $pid)"
	kill_and_wait "$pid"
}

wipe() {
	[ -d "$dir" ] || return 0
	if [ ! -f "$marker" ] && [ -n "$(find "$dir" -mindepth 1 ! -name .lock -print -quit)" ]; then
		die "$dir was not made by $prog; not deleting it"
	fi
	log "deleting $dir"
	# Keep the directory itself: it holds the lock this process has.
	find "$dir" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
}

cmd_start() {
	check_java
	fetch
	lock_dir "$lock_wait"
	if [ "${KAFKA_LOCAL_CLEAN:-0}" = 1 ]; then
		stop_locked || true
		wipe
	fi
	local pid
	if pid=$(running_pid kafka); then
		log "already running on $addr (pid $pid)"
		echo "$addr"
		return 0
	fi
	rm -f "$pidfile"
	port_free "$port" broker KAFKA_PORT KAFKA_CONTROLLER_PORT
	port_free "$cport" controller KAFKA_PORT KAFKA_CONTROLLER_PORT
	touch "$marker"
	# The data holds the admin's credential (or not): a directory keeps the
	# security it was formatted with.
	if [ -f "$data/meta.properties" ] && [ "$(cat "$dir/security" 2>/dev/null || echo plaintext)" != "$security" ]; then
		die "$dir was formatted with KAFKA_SECURITY=$(cat "$dir/security" 2>/dev/null || echo plaintext), not $security: clean it first (KAFKA_LOCAL_CLEAN=1)"
	fi
	echo "$security" >"$dir/security"
	[ "$security" = sasl_ssl ] && make_secrets
	write_config
	format_storage
	[ -f "$logfile" ] && mv -f "$logfile" "$logfile.1"

	local heap jvm
	read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
	read -r -a jvm <<<"${KAFKA_OPTS:-}"
	log "starting Kafka $KAFKA_VERSION on $addr ($security, controller :$cport, log $logfile)"
	local t0=$SECONDS
	# setsid: the broker outlives this script and the terminal's signals; the
	# child writes its own pid, which is the JVM's after exec. The lock's file
	# descriptors are closed so that the broker does not hold them.
	# shellcheck disable=SC2016 # expanded by the child shell
	setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
		"$java" "${heap[@]}" \
		-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
		-XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
		-Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$dir/log4j2.properties" \
		-Dkafka.logs.dir="$dir" \
		"${jvm[@]}" \
		-cp "$libs/*" kafka.Kafka "$config" \
		</dev/null >"$logfile" 2>&1 8>&- 9>&- &

	if [ "${KAFKA_START_WAIT:-1}" = 0 ]; then
		log "launched; not waiting for it to serve clients"
		echo "$addr"
		return 0
	fi
	wait_serving
	log "started in $((SECONDS - t0)) s (pid $(cat "$pidfile"))"
	echo "$addr"
}

# wait_serving waits until the broker serves clients: it logs this once it is
# unfenced, then a client asks it for the cluster id, which must be this
# directory's. A node of a cluster gets there only once a quorum of
# controllers runs.
wait_serving() {
	local deadline=$((SECONDS + start_timeout)) answer cluster_id pid="" client=()
	cluster_id=$(sed -n 's/^cluster\.id=//p' "$data/meta.properties")
	[ "$(cat "$dir/security" 2>/dev/null || echo plaintext)" = sasl_ssl ] && client=(--config "$admin_config")
	while :; do
		[ -z "$pid" ] && pid=$(cat "$pidfile" 2>/dev/null || true)
		if [ -n "$pid" ] && ! ours kafka "$pid"; then
			tail_log kafka 40
			rm -f "$pidfile"
			die "the broker exited while starting"
		fi
		if [ -n "$pid" ] && grep -q 'Kafka Server started' "$logfile" && port_open "$port" &&
			answer=$(timeout 15 "$java" -Xmx128m -cp "$libs/*" org.apache.kafka.tools.ClusterTool \
				cluster-id --bootstrap-server "$addr" "${client[@]}" 2>/dev/null) &&
			[[ $answer == *"Cluster ID: $cluster_id"* ]]; then
			return 0
		fi
		if [ $SECONDS -ge $deadline ]; then
			tail_log kafka 40
			[ -n "$pid" ] && kill_and_wait "$pid"
			die "the broker did not start within ${start_timeout} s"
		fi
		sleep 0.3
	done
}

cmd_wait() {
	check_java
	local pid
	pid=$(running_pid kafka) || die "not running on $addr"
	wait_serving
	log "serving on $addr (pid $pid)"
}

cmd_signal() { # SIG
	local sig=${1:-} pid
	case $sig in KILL | STOP | CONT | TERM) ;; *) die "signal $sig: want KILL, STOP, CONT or TERM" ;; esac
	pid=$(running_pid kafka) || die "not running on $addr"
	kill -"$sig" "$pid"
	log "sent SIG$sig to the broker on $addr (pid $pid)"
}

cmd_stop() {
	if [ ! -d "$dir" ]; then
		log "not running on $addr"
		return 0
	fi
	lock_dir "$lock_wait"
	stop_locked || log "not running on $addr"
	if [ "${KAFKA_LOCAL_CLEAN:-0}" = 1 ]; then wipe; fi
}

cmd_status() {
	local pid
	if [ -d "$dir" ] && pid=$(running_pid kafka); then
		echo "running $addr (pid $pid, dir $dir)"
		return 0
	fi
	echo "stopped"
	return 1
}

cmd_clean() {
	[ -d "$dir" ] || return 0
	lock_dir "$lock_wait"
	stop_locked || true
	wipe
	rm -f "$dir/.lock"
	rmdir "$dir"
}

cmd_tool() {
	[ $# -gt 0 ] || die "usage: $0 tool NAME|CLASS [ARG...]"
	local name=$1 class
	shift
	case $name in
	kafka-topics) class=org.apache.kafka.tools.TopicCommand ;;
	kafka-consumer-groups) class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
	kafka-console-producer) class=org.apache.kafka.tools.ConsoleProducer ;;
	kafka-console-consumer) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
	kafka-producer-perf-test) class=org.apache.kafka.tools.ProducerPerformance ;;
	kafka-consumer-perf-test) class=org.apache.kafka.tools.ConsumerPerformance ;;
	kafka-transactions) class=org.apache.kafka.tools.TransactionsCommand ;;
	kafka-configs) class=kafka.admin.ConfigCommand ;;
	kafka-acls) class=org.apache.kafka.tools.AclCommand ;;
	kafka-cluster) class=org.apache.kafka.tools.ClusterTool ;;
	kafka-metadata-quorum) class=org.apache.kafka.tools.MetadataQuorumCommand ;;
	kafka-storage) class=kafka.tools.StorageTool ;;
	*.*) class=$name ;;
	*) die "unknown tool $name: give a Java class name or one of kafka-topics, kafka-consumer-groups, kafka-console-producer, kafka-console-consumer, kafka-producer-perf-test, kafka-consumer-perf-test, kafka-transactions, kafka-configs, kafka-acls, kafka-cluster, kafka-metadata-quorum, kafka-storage" ;;
	esac
	check_java
	fetch
	exec "$java" -Xmx512m -cp "$libs/*" "$class" "$@"
}

usage() {
	echo "usage: $0 start|stop|restart|status|clean|fetch|wait|signal SIG|tool NAME [ARG...]" >&2
	exit 2
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
restart)
	cmd_stop
	cmd_start
	;;
status) cmd_status ;;
clean) cmd_clean ;;
fetch)
	check_java
	fetch
	;;
wait) cmd_wait ;;
signal) cmd_signal "${2:-}" ;;
tool)
	shift
	cmd_tool "$@"
	;;
*) usage ;;
esac
