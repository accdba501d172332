#!/usr/bin/env bash
# Issue 19: the host's disk filling up stops the run with a clear message
# and exit status 3, and the report keeps the states already judged. The
# work directory is on a small tmpfs of its own; the first state's CHECK
# fills it (as another program on the host would) to 16 MiB short of full,
# less than a state needs, so the next state is not rebuilt.
source "$(dirname "$0")/lib.sh" "$@"
host=$CT_TMP/host
mkdir -p "$host"
mount -t tmpfs -o size=200m cardfs-crashtest-host "$host" || { ct_log "cannot mount a tmpfs on $host"; exit 1; }
trap 'umount "$host" 2>/dev/null || umount -l "$host"; rm -rf "$CT_TMP"' EXIT

fill='[ -e "$FILLER" ] && exit 0; free=$(df --output=avail -B1 "$(dirname "$FILLER")" | tail -n 1)
fallocate -l $((free - (16 << 20))) "$FILLER"'
workload='for i in $(seq 1 6); do head -c 300000 /dev/urandom > f$i; sync f$i; done'
export FILLER=$host/filler
ct_run host/run --size 64M --points 2 --jobs 1 --check "$fill" -- sh -c "$workload"
judged=$(ct_json host/run 'j["states_judged"]')
planned=$(ct_json host/run 'j["states_planned"]')
[ "$CT_RC" -eq 3 ] && ct_log "ok: exit 3" || ct_fail "exit $CT_RC, expected 3 (stopped early): $(cat "$CT_TMP/host/run.err")"
grep -q "stopped early: the host's disk is full" "$CT_TMP/host/run.err" && ct_log "ok: $(cat "$CT_TMP/host/run.err")" ||
  ct_fail "no clear message on stderr: $(cat "$CT_TMP/host/run.err")"
[ "$(ct_json host/run '(j["stopped"] or "").startswith("the host'"'"'s disk is full")')" = True ] ||
  ct_fail "report.json's stopped: $(ct_json host/run 'j["stopped"]')"
grep -q "| stopped early | the host's disk is full" "$CT_TMP/host/run.md" || ct_fail "the printed report says why it stopped"
if [ "$judged" = 1 ] && [ "$planned" -gt 1 ] &&
   [ "$(ct_json host/run '[s["verdict"] for s in j["states"] if s["judged"]]')" = "['pass']" ]; then
  ct_log "ok: the state judged before the disk filled is in the report ($judged of $planned)"
else
  ct_fail "states judged: $judged of $planned: $(ct_json host/run '[(s["state"], s.get("verdict")) for s in j["states"]]')"
fi
ct_pass
