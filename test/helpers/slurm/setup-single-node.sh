#!/bin/bash
# A single-node Slurm cluster on this machine, for `PARAMFLOW_TEST_SLURM=1 npx vitest run
# test/e2e/slurm.test.ts` (never for a real cluster). Debian/Ubuntu, as root, no systemd
# needed: it installs slurm-wlm + munge (and slurmdbd + mariadb, so sacct answers), writes
# /etc/slurm/slurm.conf and slurmdbd.conf (only if absent or written by this script), and
# starts munged, mariadbd, slurmdbd, slurmctld and slurmd as plain daemons. Idempotent: a
# daemon already running is left alone. Stop with stop-single-node.sh.
#
#   sudo test/helpers/slurm/setup-single-node.sh            # install if needed, configure, start
#   SLURM_TEST_NO_INSTALL=1 ...                              # do not apt-get (packages present)
#   SLURM_TEST_NO_ACCOUNTING=1 ...                           # no slurmdbd/mariadb: sacct will not answer
set -euo pipefail

MARK='# written by paramflow test/helpers/slurm/setup-single-node.sh'
NODE="$(hostname -s)"
ACCOUNTING=$([ "${SLURM_TEST_NO_ACCOUNTING:-}" = 1 ] && echo 0 || echo 1)
say() { echo "slurm-setup: $*"; }
die() { echo "slurm-setup: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts daemons)"

# --- packages -------------------------------------------------------------------------
pkgs=(slurm-wlm munge)
[ "$ACCOUNTING" = 1 ] && pkgs+=(slurmdbd mariadb-server)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "${SLURM_TEST_NO_INSTALL:-}" = 1 ] && die "missing packages: ${missing[*]}"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d: the packages' postinst must not try to start services (no init system here).
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.paramflow
  chmod +x /usr/sbin/policy-rc.d.paramflow
  [ -e /usr/sbin/policy-rc.d ] || ln -s /usr/sbin/policy-rc.d.paramflow /usr/sbin/policy-rc.d
  apt-get install -y -qq "${missing[@]}" >/dev/null
  [ "$(readlink /usr/sbin/policy-rc.d 2>/dev/null)" = /usr/sbin/policy-rc.d.paramflow ] && rm -f /usr/sbin/policy-rc.d
  rm -f /usr/sbin/policy-rc.d.paramflow
fi

running() { pgrep -x "$1" >/dev/null; }

# --- munge ----------------------------------------------------------------------------
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
  say "creating /etc/munge/munge.key"
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
fi
if ! running munged; then
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged
fi
munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"

# --- slurm.conf -----------------------------------------------------------------------
conf_ours() { [ ! -e "$1" ] || head -1 "$1" | grep -qxF "$MARK"; }
conf_ours /etc/slurm/slurm.conf || die "/etc/slurm/slurm.conf exists and was not written by this script: not touching it"
cpus="$(nproc)"
# Slurm refuses a node reporting less memory than configured: leave the OS some headroom.
mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
install -d -o slurm -g slurm -m 0755 /var/lib/slurm/slurmctld /var/log/slurm /run/slurm
install -d -m 0755 /var/lib/slurm/slurmd /etc/slurm
accounting_lines="AccountingStorageType=accounting_storage/none"
if [ "$ACCOUNTING" = 1 ]; then
  accounting_lines="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30"
fi
new_conf="$(cat <<EOF
$MARK
ClusterName=paramflow-test
SlurmctldHost=$NODE
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# A job without --mem gets 1 GB a CPU, not the whole node (which would run one task at a time).
DefMemPerCPU=1024
ReturnToService=2
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
# Poll-driven tests: schedule at once, keep ended jobs in squeue briefly.
SchedulerParameters=sched_interval=5
MinJobAge=60
# Time limit or scancel: SIGTERM, then SIGKILL this much later (default 30 s). A stopped
# paramflow task needs a few seconds to record its run KILLED and leave its result.
KillWait=15
$accounting_lines
NodeName=$NODE CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
)"
if [ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" != "$new_conf" ]; then
  say "writing /etc/slurm/slurm.conf (node $NODE: $cpus CPUs, ${mem_mb} MB)"
  printf '%s\n' "$new_conf" >/etc/slurm/slurm.conf
  changed=1
fi

if [ "$ACCOUNTING" = 1 ]; then
  conf_ours /etc/slurm/slurmdbd.conf || die "/etc/slurm/slurmdbd.conf exists and was not written by this script: not touching it"
  new_dbd="$(cat <<EOF
$MARK
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
PidFile=/run/slurm/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=paramflow-test
StorageLoc=slurm_acct_db
EOF
)"
  if [ "$(cat /etc/slurm/slurmdbd.conf 2>/dev/null)" != "$new_dbd" ]; then
    say "writing /etc/slurm/slurmdbd.conf"
    printf '%s\n' "$new_dbd" >/etc/slurm/slurmdbd.conf
    changed=1
  fi
  chown slurm:slurm /etc/slurm/slurmdbd.conf
  chmod 0600 /etc/slurm/slurmdbd.conf
fi

# A changed slurm.conf (accounting switched on, say) needs fresh daemons, not a reconfigure.
if [ "${changed:-0}" = 1 ] && { running slurmctld || running slurmd || running slurmdbd; }; then
  say "configuration changed: restarting the Slurm daemons"
  "$(dirname "$0")/stop-single-node.sh" --slurm-only
fi

# --- slurmdbd + mariadb (so that sacct answers) ---------------------------------------
if [ "$ACCOUNTING" = 1 ]; then
  if ! running mariadbd && ! running mysqld; then
    say "starting mariadb"
    install -d -o mysql -g mysql -m 0755 /run/mysqld
    [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    install -d -o mysql -g adm -m 0750 /var/log/mysql
    (cd / && setsid -f mysqld_safe --user=mysql --bind-address=127.0.0.1 --log-error=/var/log/mysql/error.log </dev/null >/dev/null 2>&1)
    for _ in $(seq 60); do mariadb -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 1; done
    mariadb -uroot -e 'select 1' >/dev/null || die "mariadb did not start (see /var/log/mysql/)"
  fi
  mariadb -uroot <<'EOF'
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'paramflow-test';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF
  if ! running slurmdbd; then
    say "starting slurmdbd"
    /usr/sbin/slurmdbd
  fi
  for _ in $(seq 60); do sacctmgr -n -P list cluster >/dev/null 2>&1 && break; sleep 1; done
  sacctmgr -n -P list cluster >/dev/null || die "slurmdbd does not answer (see /var/log/slurm/slurmdbd.log)"
  sacctmgr -n -P list cluster format=cluster | grep -qx paramflow-test || sacctmgr -i add cluster paramflow-test >/dev/null
fi

# --- slurmctld + slurmd ---------------------------------------------------------------
if ! running slurmctld; then
  say "starting slurmctld"
  /usr/sbin/slurmctld
fi
if ! running slurmd; then
  say "starting slurmd"
  /usr/sbin/slurmd
fi

# The node idle (or mixed/allocated: jobs from an earlier run) means the cluster takes jobs.
for _ in $(seq 60); do
  state="$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null || true)"
  case "$state" in idle|mixed|allocated) break;; down*|drain*) scontrol update nodename="$NODE" state=resume 2>/dev/null || true;; esac
  sleep 1
done
case "$state" in
  idle|mixed|allocated) say "ready: node $NODE is $state"; sinfo ;;
  *) die "node $NODE is '${state:-unknown}' (see /var/log/slurm/slurmctld.log and slurmd.log)";;
esac
