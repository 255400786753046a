#!/usr/bin/env bash
# A real single-node SLURM cluster for testing the workflow's SLURM profile
# (../shared/reference/slurm-notes.md): Debian's slurmctld, slurmd, slurmdbd (+ a local
# MariaDB for accounting, so `sacct` works as on a site) and munge; fake GPUs through gres.
#
#   tests/cluster/slurm_cluster.sh install   # apt packages (root; no daemon is started by apt)
#   tests/cluster/slurm_cluster.sh start     # write the configs, start the daemons, wait for idle
#                                            # (exit 3: one from $SLURM_TEST_STATE runs already)
#   tests/cluster/slurm_cluster.sh stop      # stop the daemons by their recorded PIDs
#
# Needs root on Debian 12. SLURM reads /etc/slurm/slurm.conf only (slurm-jobstep strips
# SLURM_CONF inside jobs), so `start` refuses to overwrite a slurm.conf it did not write.
# The node advertises CPUS (default 8) CPUs and GPUS (default 4) fake GPUs whatever the
# machine has (SlurmdParameters=config_overrides; nothing is enforced: no cgroups), so that
# several small jobs run side by side on a 2-core machine. Partitions `cpu` (default) and
# `gpu` match profiles/slurm/profile.yaml. State, logs and PIDs live in $SLURM_TEST_STATE.
set -euo pipefail

STATE=${SLURM_TEST_STATE:-/tmp/deepsphere-slurm}
CPUS=${SLURM_TEST_CPUS:-8}
GPUS=${SLURM_TEST_GPUS:-4}
MARK="# written by deepsphere tests/cluster/slurm_cluster.sh"
HOST=$(hostname -s)

die() { echo "slurm_cluster.sh: $*" >&2; exit 1; }

install_packages() {
    [ "$(id -u)" = 0 ] || die "needs root (installs Debian packages and starts daemons)"
    command -v apt-get >/dev/null || die "needs apt-get (Debian/Ubuntu)"
    local need=()
    for cmd in slurmctld slurmd slurmdbd sbatch munged mariadbd; do
        command -v "$cmd" >/dev/null || need=(slurmctld slurmd slurmdbd slurm-client munge mariadb-server)
    done
    [ ${#need[@]} -eq 0 ] && return 0
    # apt must not start the daemons itself (no systemd here; on a systemd host it would)
    local added_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        added_policy=1
    fi
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
    [ $added_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
    return 0
}

wait_for() {  # wait_for <seconds> <description> <command...>
    local seconds=$1 what=$2; shift 2
    for _ in $(seq $((seconds * 5))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "timed out after ${seconds}s waiting for $what (logs in $STATE)"
}

start_daemon() {  # start_daemon <name> <command...>: background, PID recorded
    local name=$1; shift
    "$@" > "$STATE/$name.out" 2>&1 &
    echo $! > "$STATE/$name.pid"
}

write_configs() {
    if [ -e /etc/slurm/slurm.conf ] && ! grep -qF "$MARK" /etc/slurm/slurm.conf; then
        die "/etc/slurm/slurm.conf exists and was not written by this script; not touching it"
    fi
    local mem
    mem=$(slurmd -C | head -1 | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    mkdir -p /etc/slurm "$STATE"/{spool,ctld,mysql}
    local files=() gpu_files
    for i in $(seq 0 $((GPUS - 1))); do
        touch "$STATE/fake-gpu$i"
        files+=("$STATE/fake-gpu$i")
    done
    gpu_files=$(IFS=,; echo "${files[*]}")
    cat > /etc/slurm/slurm.conf <<EOF
$MARK
ClusterName=deepsphere-test
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
DefMemPerCPU=500
MinJobAge=300
ReturnToService=2
MailProg=/bin/true
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.txt
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.daemon.pid
SlurmdPidFile=$STATE/slurmd.daemon.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
GresTypes=gpu
NodeName=$HOST CPUs=$CPUS RealMemory=$mem Gres=gpu:$GPUS State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST MaxTime=INFINITE State=UP
EOF
    cat > /etc/slurm/gres.conf <<EOF
$MARK
NodeName=$HOST Name=gpu File=$gpu_files
EOF
    cat > /etc/slurm/slurmdbd.conf <<EOF
$MARK
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
LogFile=$STATE/slurmdbd.log
PidFile=$STATE/slurmdbd.daemon.pid
EOF
    chmod 600 /etc/slurm/slurmdbd.conf
}

start() {
    install_packages
    if [ -e "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null \
        && sinfo -h -o %T >/dev/null 2>&1; then
        echo "SLURM cluster already running (state in $STATE); leaving it as it is"
        exit 3  # callers that did not start it do not stop it
    fi
    # the controller and the node are this host's short name: it must resolve
    getent hosts "$HOST" >/dev/null || echo "127.0.0.1 $HOST" >> /etc/hosts
    write_configs
    # munge (Debian's postinst created the key)
    mkdir -p /run/munge && chown munge /run/munge
    if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        start_daemon munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F
        wait_for 10 munge sh -c 'munge -n | unmunge'
    fi
    # MariaDB for slurmdbd (its socket cannot live in a root-owned 0755 folder: /run/mysqld)
    mkdir -p /run/mysqld && chown mysql /run/mysqld
    chown -R mysql "$STATE/mysql"
    if [ ! -d "$STATE/mysql/mysql" ]; then
        mariadb-install-db --user=mysql --datadir="$STATE/mysql" >"$STATE/mariadb-install.out" 2>&1
    fi
    start_daemon mariadbd mariadbd --no-defaults --user=mysql --datadir="$STATE/mysql" \
        --socket=/run/mysqld/mysqld.sock --bind-address=127.0.0.1 --port=3306
    wait_for 30 MariaDB mariadb --socket=/run/mysqld/mysqld.sock -e 'select 1'
    mariadb --socket=/run/mysqld/mysqld.sock -e "
        CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
        CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
    start_daemon slurmdbd slurmdbd -D
    wait_for 30 slurmdbd sh -c "ss -ltn 2>/dev/null | grep -q ':6819 ' || (exec 3<>/dev/tcp/127.0.0.1/6819)"
    start_daemon slurmctld slurmctld -D
    start_daemon slurmd slurmd -D
    wait_for 60 "the node to be idle" sh -c "sinfo -h -o %T | grep -qx idle"
    wait_for 30 "accounting (sacct)" sacct -n -X
    echo "SLURM cluster up: node $HOST, $CPUS CPUs, $GPUS fake GPUs, partitions cpu and gpu; state in $STATE"
}

stop() {
    local name pid
    for name in slurmd slurmctld slurmdbd mariadbd munged; do
        [ -e "$STATE/$name.pid" ] || continue
        pid=$(cat "$STATE/$name.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$STATE/$name.pid"
    done
    echo "SLURM cluster stopped"
}

case "${1:-}" in
    install) install_packages ;;
    start) start ;;
    stop) stop ;;
    *) die "usage: $0 install|start|stop" ;;
esac
