#!/usr/bin/env bash
# Start a single-node SLURM cluster (slurmctld, slurmd, slurmdbd + MariaDB, munge) on
# localhost, everything under $SLURM_TEST_DIR (default /tmp/marrowtox-slurm).
# Idempotent: a second call reuses what runs. Needs root and the Debian packages
# slurm-wlm slurmdbd munge mariadb-server (installed if missing and apt-get exists).
# Tear down with scripts/slurm/teardown.sh.
set -euo pipefail
D=${SLURM_TEST_DIR:-/tmp/marrowtox-slurm}
CLUSTER=marrowtox
ACCOUNT=${SLURM_TEST_ACCOUNT:-marrowtox}
USER_NAME=$(id -un)
mkdir -p "$D"/{etc,log,spool/ctld,spool/d,run,munge,db}

if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null \
  || ! command -v munged >/dev/null || ! command -v mariadbd >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm slurmdbd munge mariadb-server >/dev/null
fi

# ---- munge ----
KEY=$D/munge/munge.key
[ -s "$KEY" ] || { dd if=/dev/urandom bs=1 count=1024 of="$KEY" 2>/dev/null; }
chmod 400 "$KEY"; chown root:root "$KEY"; chmod 700 "$D/munge"
SOCK=$D/munge/munge.socket
if ! munge -n -S "$SOCK" >/dev/null 2>&1; then
  munged --force -S "$SOCK" --key-file "$KEY" --pid-file "$D/munge/munged.pid" \
    --log-file "$D/log/munged.log" --seed-file "$D/munge/munged.seed"
fi
# slurm looks for the socket at its compiled-in path; point it there
mkdir -p /run/munge
[ "$(readlink -f /run/munge/munge.socket.2 2>/dev/null)" = "$SOCK" ] || ln -sfn "$SOCK" /run/munge/munge.socket.2

# ---- MariaDB ----
MYSOCK=$D/db/mysqld.sock
if [ ! -d "$D/db/data/mysql" ]; then
  mariadb-install-db --user=root --datadir="$D/db/data" --auth-root-authentication-method=socket >"$D/log/mariadb-install.log" 2>&1
fi
if ! mariadb-admin --socket="$MYSOCK" ping >/dev/null 2>&1; then
  mariadbd --user=root --datadir="$D/db/data" --socket="$MYSOCK" --skip-networking=0 \
    --bind-address=127.0.0.1 --port=${SLURM_TEST_DB_PORT:-13306} \
    --pid-file="$D/db/mysqld.pid" --log-error="$D/log/mariadb.log" </dev/null >/dev/null 2>&1 &
  for _ in $(seq 60); do mariadb-admin --socket="$MYSOCK" ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
mariadb --socket="$MYSOCK" <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmtest';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
SQL

# ---- config (the node's real CPUs and memory) ----
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
export SLURM_CONF=$D/etc/slurm.conf
cat >"$D/etc/slurm.conf" <<CONF
ClusterName=$CLUSTER
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CryptoType=crypto/munge
StateSaveLocation=$D/spool/ctld
SlurmdSpoolDir=$D/spool/d
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldPort=${SLURM_TEST_CTLD_PORT:-16817}
SlurmdPort=${SLURM_TEST_D_PORT:-16818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=${SLURM_TEST_DBD_PORT:-16819}
AccountingStorageEnforce=associations
JobCompType=jobcomp/none
AccountingStoreFlags=job_comment
MinJobAge=600
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
cat >"$D/etc/slurmdbd.conf" <<CONF
AuthType=auth/munge
AuthInfo=socket=$SOCK
DbdHost=localhost
DbdPort=${SLURM_TEST_DBD_PORT:-16819}
SlurmUser=root
LogFile=$D/log/slurmdbd.log
PidFile=$D/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=${SLURM_TEST_DB_PORT:-13306}
StorageUser=slurm
StoragePass=slurmtest
StorageLoc=slurm_acct_db
CONF
chmod 600 "$D/etc/slurmdbd.conf"
# cgroup.conf is not needed with proctrack/linuxproc and task/none
printf 'SLURM_CONF=%s\n' "$SLURM_CONF" >"$D/env"
# The jobstep plugin drops every SLURM_* variable (SLURM_CONF too) before its nested
# srun, so srun inside a job only finds the compiled-in /etc/slurm/slurm.conf: link it
# there unless the machine has its own (teardown removes only our link).
mkdir -p /etc/slurm
if [ ! -e /etc/slurm/slurm.conf ] || [ "$(readlink /etc/slurm/slurm.conf)" = "$SLURM_CONF" ]; then
  ln -sfn "$SLURM_CONF" /etc/slurm/slurm.conf
else
  echo "warning: /etc/slurm/slurm.conf exists and is not ours; srun inside jobs uses it" >&2
fi

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
alive "$D/run/slurmdbd.pid" || slurmdbd   # reads slurmdbd.conf beside $SLURM_CONF
for _ in $(seq 60); do sacctmgr -i list cluster >/dev/null 2>&1 && break; sleep 0.5; done
sacctmgr -i show cluster -n -P format=cluster | grep -qx "$CLUSTER" || sacctmgr -i add cluster "$CLUSTER" >/dev/null
# associations exist before slurmctld starts, so its cache has the default account
sacctmgr -i show account -n -P format=account | grep -qx "$ACCOUNT" || sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" >/dev/null
sacctmgr -i show assoc -n -P format=user,account | grep -qx "$USER_NAME|$ACCOUNT" \
  || sacctmgr -i add user "$USER_NAME" account="$ACCOUNT" cluster="$CLUSTER" defaultaccount="$ACCOUNT" >/dev/null
alive "$D/run/slurmctld.pid" || slurmctld -f "$SLURM_CONF"
alive "$D/run/slurmd.pid" || slurmd -f "$SLURM_CONF"
scontrol reconfigure >/dev/null 2>&1 || true
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)' && break; sleep 1
done
scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
sinfo
echo "SLURM up: export SLURM_CONF=$SLURM_CONF (account $ACCOUNT, partition debug)"
