#!/usr/bin/env bash
# Driver for tests/fuzz/api_fuzz.py: runs it in a child process so that a crash (segfault,
# abort, Rust panic that kills the process) or a hang is reported as a failure, with the case
# it happened in and a replay of that case's client (the reproducer); then it goes on from the
# next client, until the budget is spent.
#
#   tests/fuzz/run.sh <python-or-micropython> [--heap[=SIZE]] [api_fuzz.py options]
#
#   --heap[=SIZE]   MicroPython only: leave the SDK and the test values a SIZE heap (default
#                   48k): `-X heapsize=` 512k (what compiling the harness needs) + SIZE, and
#                   the harness's --heap=SIZE fills all but SIZE with ballast. MemoryError (and
#                   HonchError status 2) is then an allowed outcome of any call; a crash is not.
#   other options   --seed N --cases N --seconds S --start K --epoch E (see api_fuzz.py)
#
# Environment: FUZZ_HANG_SECONDS (default 120): a run making no progress for this long is a hang.
# Prints the harness's failures, one block per crash, the distinct honch log lines seen, and as
# its last line `N passed, M failed`. Exit status 1 if anything failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
harness=$here/api_fuzz.py
if [ $# -lt 1 ]; then
  sed -n '2,16p' "$0"
  exit 2
fi
interp=$1
shift

seed=1 cases=5000 seconds=0 start=0 epoch=25 heap="" verbose=""
while [ $# -gt 0 ]; do
  case $1 in
    --seed) seed=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --start) start=$2; shift 2 ;;
    --epoch) epoch=$2; shift 2 ;;
    --heap) heap=48k; shift ;;
    --heap=*) heap=${1#--heap=}; shift ;;
    --verbose) verbose=--verbose; shift ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# Wait (a little) for the interpreter: other people rebuild it from time to time.
for _ in $(seq 1 30); do
  if runtime=$("$interp" -c "import sys; print(sys.implementation.name)" 2>/dev/null) \
     && "$interp" -c "import honch" >/dev/null 2>&1; then
    break
  fi
  runtime=""
  sleep 2
done
if [ -z "$runtime" ]; then
  echo "run.sh: $interp does not run or cannot import honch" >&2
  exit 2
fi

interp_args=()
harness_heap=()
if [ -n "$heap" ]; then
  if [ "$runtime" != micropython ]; then
    echo "run.sh: --heap is for MicroPython" >&2
    exit 2
  fi
  kb=${heap%[kK]}
  interp_args=(-X "heapsize=$((512 + kb))k")
  harness_heap=("--heap=$kb")
fi

hang=${FUZZ_HANG_SECONDS:-120}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
end=$((start + cases))
total_pass=0 total_fail=0 crashes=0
t0=$SECONDS
noise='^(honch: (warning|error|info): |Warning: Comparison between bytes and str$)'

sig_name() {
  local n=$1
  case $n in
    4) echo SIGILL ;; 5) echo SIGTRAP ;; 6) echo SIGABRT ;; 7) echo SIGBUS ;; 8) echo SIGFPE ;;
    9) echo SIGKILL ;; 11) echo SIGSEGV ;; 15) echo SIGTERM ;; *) echo "signal $n" ;;
  esac
}

s=$start
while [ "$s" -lt "$end" ]; do
  left=()
  if [ "$seconds" != 0 ]; then
    remaining=$(awk -v s="$seconds" -v e=$((SECONDS - t0)) 'BEGIN { r = s - e; print (r > 0) ? r : 0 }')
    if [ "$remaining" = 0 ]; then break; fi
    left=(--seconds "$remaining")
  fi
  log=$tmp/log
  : >"$log"
  # The harness itself stops at --seconds; `timeout` only catches a hang.
  limit=$(awk -v s="$seconds" -v h="$hang" 'BEGIN { print (s > 0 ? int(s) + h : 100000) }')
  timeout -s KILL "$limit" "$interp" "${interp_args[@]}" "$harness" --seed "$seed" --start "$s" \
    --cases $((end - s)) --epoch "$epoch" "${harness_heap[@]}" "${left[@]}" $verbose --log "$log" \
    >"$tmp/out" 2>&1 &
  pid=$!
  # watchdog: no new `case` line for $hang seconds => hang. (The group's stderr is dropped:
  # bash reports a child killed by a signal there, e.g. "Segmentation fault".)
  {
    last_size=-1 still=0 hung=""
    while kill -0 "$pid" 2>/dev/null; do
      sleep 1
      size=$(stat -c %s "$log" 2>/dev/null || echo 0)
      if [ "$size" = "$last_size" ]; then
        still=$((still + 1))
        if [ "$still" -ge "$hang" ]; then
          hung=1
          # the interpreter is timeout's child: kill it by its id, then timeout
          for child in $(ps -o pid= --ppid "$pid"); do kill -KILL "$child" 2>/dev/null; done
          kill -KILL "$pid" 2>/dev/null
        fi
      else
        still=0 last_size=$size
      fi
    done
    wait "$pid"
    rc=$?
  } 2>/dev/null
  cat "$tmp/out" >>"$tmp/all"
  grep -Ev "$noise" "$tmp/out" | grep -v '^\(fuzz: \|[0-9]* passed, [0-9]* failed$\)'
  if [ "$(tail -n1 "$log")" = done ] && { [ $rc -eq 0 ] || [ $rc -eq 1 ]; }; then
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/out" | tail -n1)
    grep '^fuzz: ' "$tmp/out" | tail -n1
    total_pass=$((total_pass + ${line%% passed*}))
    f=${line#*passed, }
    total_fail=$((total_fail + ${f%% failed}))
    break
  fi
  # The interpreter died (or hung, or the harness itself broke).
  last=$(grep '^case ' "$log" | tail -n1)
  if [ -z "$last" ]; then
    echo "run.sh: the harness did not start (exit status $rc):"
    tail -n 20 "$tmp/out"
    total_fail=$((total_fail + 1))
    break
  fi
  read -r _ k p f <<<"$last"
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f + 1))
  crashes=$((crashes + 1))
  if [ -n "$hung" ]; then
    how="hang (no progress for ${hang} s)"
  elif [ $rc -gt 128 ]; then
    how="killed by $(sig_name $((rc - 128)))"
  else
    how="exit status $rc"
  fi
  ep=$(((k / epoch) * epoch))
  echo "FAIL case $k [crash] $runtime died: $how"
  echo "  last output:"
  grep -Ev "$noise" "$tmp/out" | tail -n 6 | sed 's/^/    /'
  echo "  replay (the last 'case' line is the call that crashed):"
  echo "    $interp ${interp_args[*]} tests/fuzz/api_fuzz.py --seed $seed --start $ep --cases $((k - ep + 1)) --epoch $epoch ${harness_heap[*]} --verbose"
  # (stderr of the group dropped: bash's own "Segmentation fault" job message)
  { timeout -s KILL $((hang < 50 ? hang + 10 : 60)) "$interp" "${interp_args[@]}" "$harness" --seed "$seed" --start "$ep" \
    --cases $((k - ep + 1)) --epoch "$epoch" "${harness_heap[@]}" --verbose >"$tmp/replay" 2>&1; } 2>/dev/null
  rrc=$?
  grep '^epoch ' "$tmp/replay" | head -n 1 | sed 's/^/    /'
  grep -E '^(case [0-9]+: |   -> )' "$tmp/replay" | tail -n 30 | sed 's/^/    /'
  if [ -n "$hung" ] && [ $rrc -eq 137 ]; then
    echo "    (replay hung too)"
  elif [ $rrc -gt 128 ]; then
    echo "    (replay died too: $(sig_name $((rrc - 128))))"
  else
    echo "    (replay did not crash: exit status $rrc; the crash depends on more than this client's history)"
  fi
  s=$(((k / epoch + 1) * epoch))
done

if grep -Eq "$noise" "$tmp/all" 2>/dev/null; then
  echo "honch log lines seen (count, distinct):"
  grep -E '^honch: ' "$tmp/all" | sed 's/[0-9][0-9]*/N/g' | sort | uniq -c | sort -rn | head -n 15
fi
echo "run.sh: $runtime${heap:+ (heap $heap)}, seed $seed, $((total_pass + total_fail)) cases from case $start, $crashes crash(es), $((SECONDS - t0)) s"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
