# shellcheck shell=bash disable=SC2034 # variables are used by the scripts that source this
# lib.sh: shared settings and helpers for up.sh and down.sh (sourced, not run).
#
# Every daemon of the test cluster is started directly (there is no systemd here),
# forks into the background and records its pid in a pid file. A daemon counts as
# running only if its pid file names a live process whose command name is the
# expected one, so a stale pid file left by an unclean stop is never trusted.

# Settings a developer may override from the environment.
: "${SLURM_CLUSTER:=bfc}"          # ClusterName in slurm.conf and in the accounting DB
: "${SLURM_PARTITION:=debug}"      # the single, default partition
: "${SLURM_ACCOUNTING:=1}"         # 1: slurmdbd + MariaDB so that sacct works; 0: none
: "${SLURM_WAIT:=120}"             # seconds to wait for each daemon / the node / the test job

SLURM_ETC=/etc/slurm
SLURM_CONF=$SLURM_ETC/slurm.conf
SLURMDBD_CONF=$SLURM_ETC/slurmdbd.conf
SLURM_LOGDIR=/var/log/slurm
SLURM_STATEDIR=/var/lib/slurm/slurmctld
SLURMD_SPOOLDIR=/var/lib/slurm/slurmd
MARIADB_LOG=/var/log/mysql/bfc-mariadbd.log
SLURM_DB=slurm_acct_db
SLURM_DB_USER=slurm

# Pid files. The daemons write them themselves (paths set in their configs or
# on their command lines below); down.sh reads them.
PID_MUNGED=/run/munge/munged.pid
PID_MARIADB=/run/mysqld/mysqld.pid
PID_SLURMDBD=/run/slurmdbd.pid
PID_SLURMCTLD=/run/slurmctld.pid
PID_SLURMD=/run/slurmd.pid

log() { printf '[slurm %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# need_root exits unless the script runs as root (the daemons and apt need it).
need_root() { [[ $(id -u) -eq 0 ]] || die "run as root"; }

# alive PID succeeds while PID exists and is not a zombie (daemons are reparented
# to PID 1, which may take its time to reap them).
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# pid_of PIDFILE COMM-REGEX prints the pid recorded in PIDFILE if that process is
# alive (not a zombie) and its /proc/PID/comm matches ^(COMM-REGEX)$; it fails otherwise.
# Debian starts slurmctld/slurmd through alternatives symlinks, so a comm of
# e.g. "slurmctld-wlm" is accepted by passing 'slurmctld(-wlm)?'.
pid_of() {
	local file=$1 re=$2 pid comm
	[[ -r $file ]] || return 1
	read -r pid <"$file" 2>/dev/null || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	alive "$pid" || return 1
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
	[[ $comm =~ ^($re)$ ]] || return 1
	echo "$pid"
}

# stop_daemon NAME PIDFILE COMM-REGEX stops one daemon: SIGTERM, up to 30 s of
# grace, then SIGKILL. It only ever signals the pid its own pid file names.
stop_daemon() {
	local name=$1 file=$2 re=$3 pid i
	if ! pid=$(pid_of "$file" "$re"); then
		log "$name: not running"
		rm -f "$file"
		return 0
	fi
	log "$name: stopping pid $pid"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		log "$name: still alive after 30 s, SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -f "$file"
}

# wait_for DESC SECONDS CMD... polls CMD every 0.2 s until it succeeds.
wait_for() {
	local desc=$1 secs=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || {
			log "timed out after ${secs}s waiting for: $desc"
			return 1
		}
		sleep 0.2
	done
}

# Phase timing: phase_begin NAME ... phase_end prints "phase NAME: X.XXs".
_phase_name='' _phase_t0=''
phase_begin() { _phase_name=$1 _phase_t0=$EPOCHREALTIME; log "== $1"; }
phase_end() {
	local dt
	dt=$(awk -v a="$_phase_t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	log "== $_phase_name: ${dt}s"
	PHASE_TIMES+=("$_phase_name=${dt}s")
}
PHASE_TIMES=()
