#!/usr/bin/env bash
# Issue 19, errors: a CHECK that hangs is bounded. The workload's last step
# writes "hang" into a file; CHECK sleeps for ten minutes when it finds it,
# ignoring SIGTERM (so the SIGKILL after the grace is needed), and passes
# otherwise. With --timeout 3: the states after that step are judged
# "timeout" in report.md and report.json, the earlier ones pass, every
# planned state is judged (the run goes on), the run's wall time stays far
# below one hang, and no process is left in a state's mount (CHECK's sleep
# is killed with its shell) nor a mount under the test's directory.
source "$(dirname "$0")/lib.sh" "$@"

workload='echo start > f; sync f; echo "wrote start" > "$CARDFS_MARK"; echo hang > f; sync f; echo "wrote hang" > "$CARDFS_MARK"'
# The sleep's pid goes to $pids: it must be gone after the run.
pids=$CT_TMP/check-pids
check='if grep -q hang f 2>/dev/null; then trap "" TERM; sleep 600 & echo $! >> '"$pids"'; wait $!; fi; echo "f: $(cat f 2>&1)"'
start=$(date +%s)
CT_TIMEOUT=300 ct_run hang --size 64M --points 4 --seed 1 --jobs 2 --timeout 3 --check "$check" -- sh -c "$workload"
took=$(($(date +%s) - start))
[ "$CT_RC" -eq 1 ] && ct_log "ok: exit 1 (states failed)" || ct_fail "exit $CT_RC: $(cat "$CT_TMP/hang.err")"
planned=$(ct_json hang 'j["states_planned"]'); judged=$(ct_json hang 'j["states_judged"]')
[ -n "$planned" ] && [ "$planned" = "$judged" ] && ct_log "ok: all $planned states judged" ||
  ct_fail "$judged of $planned states judged"
timeouts=$(ct_json hang 'len([s for s in j["states"] if s.get("verdict") == "timeout"])')
passes=$(ct_json hang 'len([s for s in j["states"] if s.get("verdict") == "pass"])')
[ "${timeouts:-0}" -gt 0 ] && [ "${passes:-0}" -gt 0 ] && [ $((timeouts + passes)) = "$planned" ] &&
  ct_log "ok: $timeouts states timed out, $passes passed" ||
  ct_fail "verdicts: $(ct_json hang '[(s["state"], s.get("verdict")) for s in j["states"]]')"
[ "$(ct_json hang 'sorted({s["verdict"] for s in j["states"] if s["marks_before"][-1:] == ["wrote hang"]})')" = "['timeout']" ] &&
  ct_log "ok: the states after the hang's step are the ones that timed out" ||
  ct_fail "states after 'wrote hang': $(ct_json hang '[(s["state"], s["marks_before"], s.get("verdict")) for s in j["states"]]')"
n_md=$(grep -c '^| .* | timeout | ' "$CT_TMP/hang.md")
[ "$n_md" = "$timeouts" ] && ct_log "ok: report.md lists them as timeout" || ct_fail "report.md has $n_md timeout rows, not $timeouts"
grep -q "CHECK still ran after 3 s" "$CT_TMP/hang.md" && ct_log "ok: and says why" || ct_fail "report.md does not say the CHECK ran past 3 s"
# Each hang costs the timeout and the 2 s grace; ten minutes if one were waited out.
[ "$took" -lt 200 ] && ct_log "ok: the run took $took s" || ct_fail "the run took $took s"
# Killed: gone, or a zombie this machine's init has not reaped yet.
alive() { kill -0 "$1" 2>/dev/null && ! grep -q ') Z' "/proc/$1/stat" 2>/dev/null; }
left=$(for p in $(cat "$pids" 2>/dev/null); do alive "$p" && echo "$p"; done)
[ -s "$pids" ] && [ -z "$left" ] && ct_log "ok: CHECK's sleeps ($(wc -l <"$pids")) were killed with their shells" ||
  ct_fail "CHECK's sleeps left running: ${left:-(none recorded)}"
for p in $left; do kill -9 "$p"; done  # this test's own processes, so the mounts they hold go
for c in /proc/[0-9]*/cmdline; do
  tr '\0' ' ' <"$c" 2>/dev/null | grep -qF "$CT_TMP/" && ct_fail "a process is left: ${c%/cmdline}: $(tr '\0' ' ' <"$c")"
done
grep -qF "$CT_TMP" /proc/mounts && ct_fail "left mounted: $(grep -F "$CT_TMP" /proc/mounts)"
ct_pass
