#!/usr/bin/env bash
# states.sh: show how Slurm reports each way a job can end, on the cluster that
# up.sh started. For each case it submits one job, follows it with squeue, and
# prints what squeue, `scontrol show job` and (with accounting) sacct say at the
# end. The README records one run of this script. Takes about 1.5 minutes (the
# TIMEOUT case needs a 1-minute time limit to run out).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
work=$(mktemp -d /tmp/bfc-slurm-states.XXXXXX)
cd "$work"

SACCT_FMT=JobID,JobName,State,ExitCode,DerivedExitCode,Reason,Elapsed
# sub NAME SBATCH-ARGS...: submit a job named NAME, set $id and $name.
sub() {
	name=$1
	shift
	id=$(sbatch --parsable -J "$name" -p "$SLURM_PARTITION" -o "$work/%x-%A_%a.out" "$@")
	id=${id%%;*}
}

# follow ID: print each change of the squeue line "state|reason" until the job
# is finished, with the time since submission.
follow() {
	local id=$1 t0=$EPOCHREALTIME prev='' line
	while :; do
		line=$(squeue -h -j "$id" -t all -o '%T|%r' 2>/dev/null | sort -u | paste -sd' ')
		if [[ $line != "$prev" ]]; then
			printf '  squeue  t=%5.1fs %s\n' "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$line"
			prev=$line
		fi
		[[ -n $line && ! $line =~ PENDING|RUNNING|COMPLETING|CONFIGURING|SUSPENDED ]] && break
		sleep 0.2
	done
}

# report ID NAME [TASKS]: what scontrol and sacct say about a finished job.
# sacct lags squeue by a few seconds: until slurmdbd has the job's start record
# it shows a placeholder row named "allocation" and no array tasks. So poll
# until every -X row carries the job's name and the expected number of rows
# (TASKS, 1 unless an array) is there, and print how long that took.
report() {
	local id=$1 name=$2 tasks=${3:-1} t0=$EPOCHREALTIME rows
	echo "  scontrol: $(scontrol show job -o "$id" | tr ' ' '\n' | grep -E '^(JobState|Reason|ExitCode|DerivedExitCode|StdOut)=' | paste -sd' ')"
	[[ $SLURM_ACCOUNTING == 1 ]] || return 0
	settled() {
		rows=$(sacct -j "$id" -X -n -P -o JobName,State)
		[[ $(grep -c . <<<"$rows") == "$tasks" ]] &&
			! grep -qv "^$name|" <<<"$rows" &&
			! grep -qE 'PENDING|RUNNING|COMPLETING' <<<"$rows"
	}
	wait_for "sacct to settle for job $id" 60 settled || true
	printf '  sacct settled after %.1fs: sacct -j %s -n -P -o %s\n' \
		"$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$id" "$SACCT_FMT"
	sacct -j "$id" -n -P -o "$SACCT_FMT" | sed 's/^/    /'
}

case_() { echo "== $1"; }

case_ "success: --wrap 'true'"
sub ok --wrap 'true'; follow "$id"; report "$id" "$name"

case_ "failure: --wrap 'exit 3'"
sub fail --wrap 'echo to-stderr >&2; exit 3'; follow "$id"; report "$id" "$name"

case_ "batch shell killed by a signal: --wrap 'kill -9 \$\$'"
sub signal --wrap 'kill -9 $$'; follow "$id"; report "$id" "$name"

case_ "scancel while RUNNING"
sub cancel-running --wrap 'sleep 300'
until [[ $(squeue -h -j "$id" -o %T) == RUNNING ]]; do sleep 0.2; done
scancel "$id"; follow "$id"; report "$id" "$name"

case_ "scancel while PENDING (held with -H)"
sub cancel-pending -H --wrap 'true'; sleep 1
echo "  squeue while held: $(squeue -h -j "$id" -o '%T|%r')"
scancel "$id"; follow "$id"; report "$id" "$name"

if [[ ${STATES_SKIP_TIMEOUT:-0} != 1 ]]; then
	case_ "time limit: -t 1 (minute) --wrap 'sleep 300'"
	sub timeout -t 1 --wrap 'sleep 300'; follow "$id"; report "$id" "$name"
fi

case_ "job array of 3, task 1 fails: --array=0-2"
# shellcheck disable=SC2016 # expanded by the job's shell, not here
sub array --array=0-2 --wrap '[ "$SLURM_ARRAY_TASK_ID" != 1 ]'; follow "$id"; report "$id" "$name" 3

case_ "dependency never satisfied: --dependency=afterok:<failed job>"
sub dep-parent --wrap 'exit 1'; follow "$id" >/dev/null; parent=$id
sub dep-child --dependency="afterok:$parent" --wrap 'true'; sleep 2
echo "  squeue while waiting: $(squeue -h -j "$id" -o '%T|%r')"
scancel "$id"; follow "$id"; report "$id" "$name"

case_ "finding jobs by name and comment (re-attach after a restart)"
sub bfc-key-abc123 --comment=key=abc123 --wrap 'sleep 2'
echo "  squeue -h --name=bfc-key-abc123 -o '%i|%j|%T|%k': $(squeue -h --name=bfc-key-abc123 -o '%i|%j|%T|%k')"
follow "$id" >/dev/null; report "$id" "$name"
if [[ $SLURM_ACCOUNTING == 1 ]]; then
	echo "  sacct -X -n -P --name=bfc-key-abc123 -S now-1days -o JobID,JobName,State,Comment:"
	sacct -X -n -P --name=bfc-key-abc123 -S now-1days -o JobID,JobName,State,Comment | sed 's/^/    /'
fi

rm -rf "$work"
