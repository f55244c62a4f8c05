# shellcheck shell=bash
# Process handling shared by kafka-local.sh, kube-local.sh and keda-local.sh,
# which source this file. Each runs its processes (components) in the
# background from a directory of its own, and finds them again by their pid
# files and command lines.
#
# The script sets, before calling these functions:
#   prog                        the name its messages start with
#   dir                         its run directory, which lock_dir locks
#   run, logs                   where <component>.pid and <component>.log are
#   start_timeout, stop_timeout seconds
# and defines:
#   ours COMPONENT PID          whether PID is that component, started by this
#                               script for this directory
# and, to use launch, wait_for and fail:
#   components                  its components, in starting order
#   binary COMPONENT            the component's program
#   stop_all                    stops everything it runs
#
# shellcheck disable=SC2154 # prog, dir, run, logs and the timeouts are the script's

log() { echo "$prog: $*" >&2; }
die() {
	echo "$prog: $*" >&2
	exit 1
}

# An absolute path: processes are told apart by the paths in their command
# lines, and the programs may run from another directory.
absolute() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac }

# java_version JAVA: the version that JAVA -version reports, "17.0.15", or
# "8.0_392" for the "1.8.0_392" of Java 8 and older; empty if it says none.
java_version() {
	local v
	v=$("$1" -version 2>&1 | sed -nE 's/.* version "([0-9][^"]*)".*/\1/p' | head -n 1)
	echo "${v#1.}"
}

valid_port() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }

# The port a variable gives, else the default; dies if it is not a port.
port_var() { # variable default
	local v=${!1:-$2}
	valid_port "$v" || die "$1=$v is not a port number"
	echo "$v"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Dies if something listens on the port, naming it when ss can, and the
# variables that choose another ("pick others with A / B" for several).
port_free() { # port what variable...
	local port=$1 what=$2 who="" pick=another vars
	shift 2
	port_open "$port" || return 0
	if command -v ss >/dev/null 2>&1; then
		who=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:(([^)]*' | head -n 1 | sed 's/users:((//')
	fi
	[ $# -eq 1 ] || pick=others
	printf -v vars '%s / ' "$@"
	die "$what port 127.0.0.1:$port is in use by another process${who:+ ($who)}; pick $pick with ${vars% / }"
}

# Takes the run directory's lock (held until the script exits), so that one
# start, stop or clean at a time works on it.
lock_dir() { # seconds to wait for it
	mkdir -p "$dir"
	exec 9>"$dir/.lock"
	flock -w "$1" 9 || die "timed out waiting for another $prog on $dir"
}

# The component's pid, if it runs: the pid file's, or failing that a search of
# every process, which writes the pid file again; in either case only a
# process that ours accepts.
running_pid() { # component
	local pidfile=$run/$1.pid pid p
	pid=$(cat "$pidfile" 2>/dev/null || true)
	if [[ $pid =~ ^[0-9]+$ ]] && ours "$1" "$pid"; then
		echo "$pid"
		return 0
	fi
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		if ours "$1" "$p"; then
			mkdir -p "$run"
			echo "$p" >"$pidfile"
			echo "$p"
			return 0
		fi
	done
	return 1
}

tail_log() { # component [lines]
	log "last lines of $logs/$1.log:"
	tail -n "${2:-25}" "$logs/$1.log" >&2 || true
}

# Starts a component in the background, in its own session so that it outlives
# this script; the child writes its own pid, which is the program's after exec.
launch() { # component arg...
	local name=$1 i
	shift
	mkdir -p "$logs" "$run"
	[ -f "$logs/$name.log" ] && mv -f "$logs/$name.log" "$logs/$name.log.1"
	# shellcheck disable=SC2016 # expanded by the child shell
	setsid bash -c 'echo $$ >"$0"; exec "$@"' "$run/$name.pid" "$(binary "$name")" "$@" \
		</dev/null >"$logs/$name.log" 2>&1 8>&- 9>&- &
	# The pid file, once the child has written it.
	for i in $(seq 50); do
		[ -s "$run/$name.pid" ] && return 0
		sleep 0.1
	done
	fail "$name did not start (no pid file $run/$name.pid)"
}

# When a start gives up waiting ($SECONDS); the start sets it.
deadline=0
# Waits until "$@" succeeds, failing as soon as a component this start
# depends on has exited.
wait_for() { # what command...
	local what=$1 c pid
	shift
	until "$@" >/dev/null 2>&1; do
		for c in "${components[@]}"; do
			pid=$(cat "$run/$c.pid" 2>/dev/null || true)
			if [ -n "$pid" ] && ! ours "$c" "$pid"; then
				tail_log "$c"
				rm -f "$run/$c.pid"
				fail "$c exited while waiting for $what"
			fi
		done
		[ $SECONDS -lt $deadline ] || fail "timed out after ${start_timeout} s waiting for $what"
		sleep 0.3
	done
}

# Gives up a start: says why, stops what runs and exits 1.
fail() {
	log "$*"
	log "stopping what runs; logs in $logs"
	stop_all || true
	exit 1
}

# Stops components, all at once, and waits for them to exit.
stop_components() { # component...
	local c pid pids=() names=() i end
	for c in "$@"; do
		if pid=$(running_pid "$c"); then
			log "stopping $c (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
			names+=("$c")
		fi
		rm -f "$run/$c.pid"
	done
	end=$((SECONDS + stop_timeout))
	for i in "${!pids[@]}"; do
		while ours "${names[$i]}" "${pids[$i]}"; do
			if [ $SECONDS -ge "$end" ]; then
				log "${names[$i]} (pid ${pids[$i]}) still running after ${stop_timeout} s; killing it"
				kill -KILL "${pids[$i]}" 2>/dev/null || true
				sleep 0.5
				ours "${names[$i]}" "${pids[$i]}" && die "${names[$i]} (pid ${pids[$i]}) survived SIGKILL"
				break
			fi
			sleep 0.2
		done
	done
}
