#!/usr/bin/env bash
# down.sh: stop the one-node Slurm test cluster started by up.sh.
#
#   down.sh          cancel all jobs, stop slurmd, slurmctld, slurmdbd, MariaDB, munged
#   down.sh --purge  also delete Slurm's state, logs, configs and accounting DB, so
#                    that the next up.sh starts from scratch (packages stay installed)
#
# Only the pids named in the daemons' own pid files are signalled.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
need_root
purge=0
case ${1-} in
--purge) purge=1 ;;
"") ;;
*) die "usage: $0 [--purge]" ;;
esac

if pid_of "$PID_SLURMCTLD" 'slurmctld(-wlm)?' >/dev/null; then
	# Cancel jobs first so that no slurmstepd or job process outlives slurmd.
	if [[ -n $(squeue -h -o %i 2>/dev/null) ]]; then
		log "cancelling all jobs"
		scancel --quiet --partition="$SLURM_PARTITION" 2>/dev/null || true
		# squeue lists pending, running and completing jobs by default.
		no_jobs() { [[ -z $(squeue -h -o %i) ]]; }
		wait_for "jobs to end" 60 no_jobs || log "some jobs are still listed: $(squeue -h)"
	fi
fi
stop_daemon slurmd "$PID_SLURMD" 'slurmd(-wlm)?'
stop_daemon slurmctld "$PID_SLURMCTLD" 'slurmctld(-wlm)?'
stop_daemon slurmdbd "$PID_SLURMDBD" slurmdbd
if [[ $purge == 1 ]] && pid_of "$PID_MARIADB" 'mariadbd|mysqld' >/dev/null; then
	log "dropping database $SLURM_DB"
	mysql -u root -e "DROP DATABASE IF EXISTS $SLURM_DB; DROP USER IF EXISTS '$SLURM_DB_USER'@'localhost';" || true
fi
stop_daemon mariadbd "$PID_MARIADB" 'mariadbd|mysqld'
stop_daemon munged "$PID_MUNGED" munged

if [[ $purge == 1 ]]; then
	log "purging Slurm state, logs and configs"
	rm -rf "${SLURM_STATEDIR:?}"/* "${SLURMD_SPOOLDIR:?}"/* "${SLURM_LOGDIR:?}"/*
	rm -f "$SLURM_CONF" "$SLURMDBD_CONF" "$MARIADB_LOG"
fi
if left=$(pgrep -x slurmstepd); then
	log "warning: slurmstepd processes remain: ${left//$'\n'/ }"
fi
log "down"
