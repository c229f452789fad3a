#!/usr/bin/env bash
# make slurm-test: a real single-node Slurm cluster, a sharded evaluation on it, and a check that the merged
# report is the report an unsharded run gives.
#
# 1. Installs Slurm and MUNGE (and python3) from Debian's packages when missing (apt-get, as root; the package
#    scripts are kept from starting system daemons).
# 2. In a fresh temporary directory: a MUNGE key generated now (never stored elsewhere), slurm.conf for one node
#    named localhost (CPUs/memory from `slurmd -C`, free loopback ports), state/spool/log directories.
# 3. Starts munged, slurmctld and slurmd in the foreground (-F/-D) as background children of this script, waits
#    until sinfo shows the node idle.
# 4. Submits deploy/slurm/submit.sh: a SHARDS-task array (default 4) over models/data/mnist-test.h5 and the merge
#    job (afterok), waits (bounded by SLURM_TEST_TIMEOUT seconds, default 300), then compares the merged report
#    with an unsharded run (tools/compare_reports.py: identical except timing fields) and checks --resume
#    (re-running shard 0 leaves its report byte-identical).
# 5. Always (trap EXIT): cancels its jobs, stops the daemons it started by process id, removes the directory.
#
# Which spikify: SPIKIFY (default .build/release/spikify, built by `make slurm-test`).
# Other knobs: SHARDS (4), TIMESTEPS (32), LIMIT (first N images, default 200; LIMIT= for all 1000),
# SLURM_TEST_TIMEOUT (300),
# SLURM_TEST_KEEP=1 keeps the temporary directory (daemons are stopped anyway).
# Network: only apt-get to the configured Debian mirror, and loopback.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin"
SHARDS=${SHARDS:-4}
TIMESTEPS=${TIMESTEPS:-32}
LIMIT=${LIMIT-200}   # 1000 images at T=32 take ~110 s unsharded on 2 cores; 200 keep the test well under 3 min
TIMEOUT=${SLURM_TEST_TIMEOUT:-300}
DATA="$repo/models/data/mnist-test.h5"
QANN="$repo/models/vit-mnist-relu-qann16.h5"
t_start=$(date +%s)

say() { printf '[slurm-test %3ds] %s\n' "$(($(date +%s) - t_start))" "$*"; }
die() { printf '[slurm-test] FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- 1. install
[[ $(id -u) == 0 ]] || die "run as root: slurmd needs it, and Slurm/MUNGE may have to be installed (sudo make slurm-test)"
policy_rc=
missing=() pkgs=()
for c in slurmctld slurmd sbatch sinfo squeue scontrol scancel munged; do command -v "$c" >/dev/null || missing+=("$c"); done
((${#missing[@]})) && pkgs+=(slurmctld slurmd slurm-client munge)
command -v python3 >/dev/null || { missing+=(python3); pkgs+=(python3); }   # compare_reports.py, free ports
if ((${#pkgs[@]})); then
  command -v apt-get >/dev/null || die "missing ${missing[*]} and apt-get is not available: install Slurm (slurmctld, slurmd, client commands), MUNGE and python3"
  say "installing ${pkgs[*]} with apt-get (missing: ${missing[*]})"
  # Keep the packages' maintainer scripts from starting system daemons: we start our own, and leave none behind.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    trap '[[ -z "$policy_rc" ]] || rm -f "$policy_rc"' EXIT
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_rc=/usr/sbin/policy-rc.d
  fi
  t_install=$(date +%s)
  install_ok=1
  apt-get update -qq || install_ok=0
  ((install_ok)) && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" \
    >/dev/null || install_ok=0; }
  [[ -z "$policy_rc" ]] || rm -f "$policy_rc"
  policy_rc=
  ((install_ok)) || die "apt-get could not install ${pkgs[*]}"
  say "installed in $(($(date +%s) - t_install)) s"
fi
for c in slurmctld slurmd sbatch sinfo squeue scontrol scancel munged python3; do
  command -v "$c" >/dev/null || die "$c still missing after installation"
done
t_ready=$(date +%s)

# ------------------------------------------------------------------------------------- which spikify to test
SPIKIFY=${SPIKIFY:-$repo/.build/release/spikify}
eval_help=
[[ -x "$SPIKIFY" ]] && eval_help=$("$SPIKIFY" help eval 2>/dev/null || true)   # no grep -q: pipefail + SIGPIPE
if [[ "$eval_help" != *--shards* ]] || ! "$SPIKIFY" help merge >/dev/null 2>&1; then
  die "$SPIKIFY lacks 'eval --shards' or 'merge' (build it with: make build)"
fi
say "spikify under test: $SPIKIFY"

# ------------------------------------------------------------------------------------- 2. temporary cluster
tmp=$(mktemp -d /tmp/spikify-slurm.XXXXXX)
pids=()
uses_tmp() {   # does process directory $1 have its working directory or an open file under $tmp?
  local f
  [[ $(readlink "$1/cwd" 2>/dev/null) == "$tmp"* ]] && return 0
  for f in "$1"/fd/*; do [[ $(readlink "$f" 2>/dev/null) == "$tmp"/* ]] && return 0; done
  return 1
}
cleanup() {
  local rc=$?
  set +e
  if [[ -n "${SLURM_CONF:-}" && -f "${SLURM_CONF}" ]] && ((${#pids[@]})); then
    scancel --quiet --full --user=root 2>/dev/null   # only this cluster's jobs: SLURM_CONF points at our controller
    for _ in $(seq 1 20); do [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break; sleep 0.5; done
  fi
  # Stop the daemons we started, newest first, by pid.
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null; done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    for _ in $(seq 1 40); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.25; done
    kill -0 "${pids[i]}" 2>/dev/null && { echo "[slurm-test] pid ${pids[i]} did not stop; killing it" >&2; kill -KILL "${pids[i]}" 2>/dev/null; }
    wait "${pids[i]}" 2>/dev/null
  done
  # Job steps (slurmstepd) and job processes detach from slurmd: find any process still holding a file or its
  # working directory under our temporary directory, and stop it by pid.
  local p
  for p in /proc/[0-9]*; do
    [[ ${p#/proc/} == "$$" ]] && continue
    if uses_tmp "$p"; then
      echo "[slurm-test] stopping leftover process ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-60))" >&2
      kill -KILL "${p#/proc/}" 2>/dev/null
    fi
  done
  if [[ "${SLURM_TEST_KEEP:-0}" == 1 ]]; then echo "[slurm-test] kept $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_logs() {
  echo "---- sinfo / squeue / jobs" >&2
  sinfo -N -l >&2 2>&1; squeue -l >&2 2>&1
  scontrol show job 2>/dev/null | grep -E 'JobId=|JobState=|Reason=' >&2
  local f
  for f in "$tmp"/log/*.log "$tmp"/log/*.console "$tmp"/reports/*.out; do
    [[ -s "$f" ]] || continue
    [[ "$f" == *.console && -s "${f%.console}.log" ]] && continue   # same lines as the log file
    echo "---- $f (last 40 lines)" >&2; tail -n 40 "$f" >&2
  done
}
fail() { echo "[slurm-test] FAILED: $*" >&2; show_logs; exit 1; }

mkdir -p "$tmp"/{munge,state,spool,log,run,reports,baseline}
chmod 711 "$tmp" "$tmp/munge"   # munged wants its socket's directories searchable by all; nothing is writable by others
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
ports=$(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
read -r ctld_port slurmd_port <<<"$ports"
node_hw=$(slurmd -C | head -n 1 | sed -e 's/^NodeName=[^ ]*//' -e 's/ *$//')
[[ "$node_hw" == *CPUs=* ]] || die "slurmd -C printed no node line"
cat >"$tmp/slurm.conf" <<CONF
# Written by tools/slurm_test.sh for a throw-away single-node cluster.
ClusterName=spikifytest
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/munge.sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$tmp/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MinJobAge=3600
SchedulerType=sched/backfill
InactiveLimit=0
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 $node_hw State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
: >"$tmp/plugstack.conf"
export SLURM_CONF="$tmp/slurm.conf"

# ---------------------------------------------------------------------------------------------- 3. daemons
munged --foreground --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.sock" \
  --pid-file="$tmp/run/munged.pid" --log-file="$tmp/log/munged.log" --seed-file="$tmp/munge/munged.seed" \
  >"$tmp/log/munged.console" 2>&1 &
pids+=($!)
for _ in $(seq 1 40); do [[ -S "$tmp/munge/munge.sock" ]] && break; sleep 0.25; done
[[ -S "$tmp/munge/munge.sock" ]] || fail "munged did not create its socket"
# In the foreground the daemons log to stderr as well as to their log files: the console files keep what they
# print before the log file is open (configuration errors).
slurmctld -D -i -f "$SLURM_CONF" >"$tmp/log/slurmctld.console" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" >"$tmp/log/slurmd.console" 2>&1 &
pids+=($!)
say "started munged, slurmctld, slurmd (pids ${pids[*]}; ports $ctld_port/$slurmd_port; $tmp)"
state=
for _ in $(seq 1 120); do
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || fail "daemon pid $p exited during startup"; done
  state=$(sinfo -h -n localhost -o %t 2>/dev/null || true)
  [[ "$state" == idle ]] && break
  sleep 0.5
done
[[ "$state" == idle ]] || fail "node localhost is not idle after 60 s (state: '${state:-no answer}')"
say "node localhost idle: $(sinfo -h -N -o '%N %c CPUs %m MB %P')"

# ---------------------------------------------------------------------------------------- 4. the evaluation
eval_args=()
[[ -n "$LIMIT" ]] && eval_args+=(--limit "$LIMIT")
MODEL="$tmp/relu-qann16-snn.h5"
say "converting $QANN"
"$SPIKIFY" convert --model "$QANN" --method spikezip --out "$MODEL" >/dev/null
say "unsharded baseline: eval --timesteps $TIMESTEPS ${eval_args[*]}"
t_base=$(date +%s)
(cd "$tmp/baseline" && "$SPIKIFY" eval --model "$MODEL" --data "$DATA" --timesteps "$TIMESTEPS" "${eval_args[@]}" \
  --report "$tmp/baseline/report.json" >"$tmp/baseline/stdout.txt") || fail "unsharded eval failed"
t_base=$(($(date +%s) - t_base))

t_jobs=$(date +%s)
ids=$(SPIKIFY="$SPIKIFY" MODEL="$MODEL" DATA="$DATA" OUT="$tmp/reports" SHARDS="$SHARDS" TIMESTEPS="$TIMESTEPS" \
  EVAL_ARGS="${eval_args[*]}" SBATCH_ARGS="--partition=test --time=10" "$repo/deploy/slurm/submit.sh") || fail "submit.sh failed"
read -r array_id merge_id <<<"$ids"
say "array job $array_id ($SHARDS tasks), merge job $merge_id (afterok:$array_id)"
deadline=$(($(date +%s) + TIMEOUT))
while :; do
  left=$(squeue -h -j "$array_id,$merge_id" -o '%i %T %r' 2>/dev/null || true)
  [[ -z "$left" ]] && break
  grep -q 'DependencyNeverSatisfied' <<<"$left" && fail "merge job can never start: an array task failed"
  (($(date +%s) < deadline)) || fail "jobs not finished after ${TIMEOUT} s: $(tr '\n' ';' <<<"$left")"
  sleep 1
done
t_jobs=$(($(date +%s) - t_jobs))
bad=$(scontrol -o show job "$array_id" | grep -v 'JobState=COMPLETED' | grep -o 'JobId=[0-9]* ArrayJobId=[0-9]* ArrayTaskId=[0-9]*.*JobState=[A-Z_]*' | sed 's/ .*JobState=/ /' || true)
[[ -z "$bad" ]] || fail "array tasks not COMPLETED: $bad"
merge_state=$(scontrol -o show job "$merge_id" | grep -o 'JobState=[A-Z_]*' || true)
[[ "$merge_state" == JobState=COMPLETED ]] || fail "merge job $merge_id: ${merge_state:-unknown state}"
[[ -f "$tmp/reports/report.json" ]] || fail "merge job completed but wrote no $tmp/reports/report.json"
say "all $SHARDS tasks and the merge COMPLETED in ${t_jobs} s (unsharded baseline: ${t_base} s)"
for ((i = 0; i < SHARDS; i++)); do sed "s/^/  shard $i | /" "$tmp/reports/slurm-eval-${array_id}_$i.out"; done
sed 's/^/  merge   | /' "$tmp/reports/slurm-merge-$merge_id.out"

# ------------------------------------------------------------------------------------------------ 5. checks
"$repo/tools/compare_reports.py" "$tmp/baseline/report.json" "$tmp/reports/report.json" \
  || fail "merged report differs from the unsharded run"
before=$(sha256sum <"$tmp/reports/shard-0.json")
(cd "$tmp/reports" && SPIKIFY="$SPIKIFY" MODEL="$MODEL" DATA="$DATA" OUT="$tmp/reports" SHARDS="$SHARDS" TIMESTEPS="$TIMESTEPS" \
  EVAL_ARGS="${eval_args[*]}" SLURM_ARRAY_TASK_ID=0 bash "$repo/deploy/slurm/eval-array.sbatch" >"$tmp/resume.txt") \
  || fail "re-running shard 0 with --resume failed"
[[ $(sha256sum <"$tmp/reports/shard-0.json") == "$before" ]] || fail "--resume rewrote shard-0.json (not idempotent)"
say "--resume: re-running shard 0 left its report untouched ($(head -c 100 "$tmp/resume.txt"))"
say "PASSED: merged report == unsharded report; $(( $(date +%s) - t_ready )) s after installation, $(($(date +%s) - t_start)) s in all"
