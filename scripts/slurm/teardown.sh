#!/usr/bin/env bash
# Stop everything scripts/slurm/setup.sh started (by pid file) and remove its directory.
set -uo pipefail
D=${SLURM_TEST_DIR:-/tmp/marrowtox-slurm}
[ -d "$D" ] || exit 0
export SLURM_CONF=$D/etc/slurm.conf
scancel -u "$(id -un)" >/dev/null 2>&1 || true
stop() { # pid file
  [ -s "$1" ] || return 0
  local p; p=$(cat "$1")
  kill "$p" 2>/dev/null || return 0
  for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.5; done
  kill -9 "$p" 2>/dev/null || true
}
stop "$D/run/slurmd.pid"; stop "$D/run/slurmctld.pid"; stop "$D/run/slurmdbd.pid"
stop "$D/db/mysqld.pid"; stop "$D/munge/munged.pid"
[ "$(readlink /run/munge/munge.socket.2 2>/dev/null)" = "$D/munge/munge.socket" ] && rm -f /run/munge/munge.socket.2
[ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$D/etc/slurm.conf" ] && rm -f /etc/slurm/slurm.conf
if [ "${KEEP:-0}" != 1 ]; then rm -rf "$D"; fi
echo "SLURM test cluster stopped"
