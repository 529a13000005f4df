#!/bin/bash
# Stops what setup-single-node.sh started (slurmd, slurmctld, slurmdbd, mariadb, munged),
# by their pid files, in that order. Leaves packages, configuration and state in place:
# setup-single-node.sh starts them again. `--purge` also forgets Slurm's job state;
# `--slurm-only` leaves munged and mariadb running (setup uses it to restart on a new config).
set -uo pipefail
purge=0; slurm_only=0
for a in "$@"; do case "$a" in --purge) purge=1;; --slurm-only) slurm_only=1;; *) echo "slurm-stop: unknown option $a" >&2; exit 2;; esac; done
[ "$(id -u)" = 0 ] || { echo "slurm-stop: run as root" >&2; exit 1; }

stop_pidfile() {
  local name="$1" file="$2" pid
  [ -s "$file" ] || return 0
  pid="$(cat "$file")"
  kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 0; }
  echo "slurm-stop: stopping $name ($pid)"
  kill -TERM "$pid"
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then echo "slurm-stop: $name did not stop in 30 s: SIGKILL"; kill -KILL "$pid"; fi
  rm -f "$file"
}

stop_pidfile slurmd /run/slurm/slurmd.pid
stop_pidfile slurmctld /run/slurm/slurmctld.pid
stop_pidfile slurmdbd /run/slurm/slurmdbd.pid
if [ "$slurm_only" = 0 ]; then
  # mysqld_safe restarts a killed mysqld: `mariadb-admin shutdown` ends both.
  if [ -S /run/mysqld/mysqld.sock ]; then echo "slurm-stop: stopping mariadb"; mariadb-admin -uroot shutdown 2>/dev/null || true; fi
  stop_pidfile munged /run/munge/munged.pid
fi
if [ "$purge" = 1 ]; then rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/*; fi
exit 0
