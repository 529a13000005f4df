#!/bin/bash
# Records what a real Slurm answers to the commands paramflow's Slurm executor runs, into
# test/fixtures/slurm/real/ (for the parser tests). Run on the single-node test cluster of
# setup-single-node.sh (any user that may submit); takes about half a minute.
set -euo pipefail
out="$(cd "$(dirname "$0")/../../fixtures/slurm" && pwd)/real"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

until_tasks() { # until_tasks JOB 'expected squeue -t all lines (sorted)'
  for _ in $(seq 120); do
    [ "$(squeue -h -r -t all -j "$1" -o '%i|%T' | sort)" = "$2" ] && return 0
    sleep 0.5
  done
  echo "record: job $1 never reached: $2 (now: $(squeue -h -r -t all -j "$1" -o '%i|%T' | sort | tr '\n' ' '))" >&2
  exit 1
}
squeue_all() { squeue -h -r -t all -j "$1" -o '%i|%T|%r'; }
sacct_x() { sacct -n -P -X -j "$1" -o JobID,State,ExitCode; }

# A: four tasks that end four ways: exit 0, exit 3, SIGKILL, scancel while running.
cat >"$work/a.sbatch" <<EOF
#!/bin/bash
#SBATCH --array=0-3
#SBATCH --mem=100M
#SBATCH --output=$work/%A_%a.log
case \$SLURM_ARRAY_TASK_ID in 0) exit 0;; 1) exit 3;; 2) exec bash -c 'kill -9 \$\$';; *) exec sleep 300;; esac
EOF
sbatch --parsable "$work/a.sbatch" >"$out/sbatch-parsable.txt"
a="$(cat "$out/sbatch-parsable.txt")"
until_tasks "$a" "$(printf '%s\n' "${a}_0|COMPLETED" "${a}_1|FAILED" "${a}_2|FAILED" "${a}_3|RUNNING")"
squeue_all "$a" >"$out/squeue-all-ended.txt"
scancel "${a}_3"
until_tasks "$a" "$(printf '%s\n' "${a}_0|COMPLETED" "${a}_1|FAILED" "${a}_2|FAILED" "${a}_3|CANCELLED")"
for _ in $(seq 60); do [ "$(sacct_x "$a" | wc -l)" = 4 ] && break; sleep 0.5; done
sacct_x "$a" >"$out/sacct-ended.txt"

# B: three tasks, one at a time (%1); the last, still pending, scancelled on its own.
cat >"$work/b.sbatch" <<EOF
#!/bin/bash
#SBATCH --array=0-2%1
#SBATCH --mem=100M
#SBATCH --output=$work/%A_%a.log
exec sleep 300
EOF
b="$(sbatch --parsable "$work/b.sbatch")"
until_tasks "$b" "$(printf '%s\n' "${b}_0|RUNNING" "${b}_1|PENDING" "${b}_2|PENDING")"
for _ in $(seq 60); do squeue_all "$b" | grep -q JobArrayTaskLimit && break; sleep 0.5; done
squeue_all "$b" >"$out/squeue-all-throttled.txt"
squeue -h -j "$b" -o '%i|%T|%r' >"$out/squeue-folded.txt"
scancel "${b}_2"
until_tasks "$b" "$(printf '%s\n' "${b}_0|RUNNING" "${b}_1|PENDING")"
squeue_all "$b" >"$out/squeue-all-pending-cut.txt"
sacct_x "$b" >"$out/sacct-pending-cut.txt"
# The whole array scancelled: at once, sacct may have only the array's own line.
scancel "$b"
sacct_x "$b" >"$out/sacct-array-cancelled-at-once.txt"
until_tasks "$b" "$(printf '%s\n' "${b}_0|CANCELLED" "${b}_1|CANCELLED")"
for _ in $(seq 60); do [ "$(sacct_x "$b" | cut -d'|' -f1 | sort | tr '\n' ' ')" = "${b}_0 ${b}_1 " ] && break; sleep 0.5; done
sacct_x "$b" >"$out/sacct-array-cancelled.txt"

# A job id slurmctld never had.
squeue -h -r -j 999999 -o '%i|%T|%r' 2>"$out/squeue-invalid.txt" && { echo "record: squeue knew job 999999" >&2; exit 1; }

{
  echo "Recorded by test/helpers/slurm/record-fixtures.sh on $(sinfo --version) (single-node test"
  echo "cluster of setup-single-node.sh, $(date -u +%Y-%m-%d)): job $a (tasks ending with exit 0, exit 3,"
  echo "SIGKILL, scancel while running) and job $b (--array=0-2%1; task 2 scancelled while pending,"
  echo "then the whole array)."
} >"$out/README.md"
echo "record: fixtures in $out"
ls "$out"
