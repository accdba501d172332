#!/usr/bin/env bash
# Issue 19, the other filesystems: the states of one recording are copies
# of one filesystem, with one UUID, and --jobs 2 mounts two at a time.
# xfs refused the second ("duplicate UUID": states judged "mount failed",
# regression) until its mounts got -o nouuid; btrfs mounts them under a
# temporary fsid. Each filesystem recovers at mount (xfs's log, btrfs's
# last commit) and its read-only checker runs after the unmount
# (xfs_repair -n, btrfs check --readonly), its verdict in each state's
# result. The workload syncs f1, then writes f2 without a sync: every
# state mounts, the checker finds each clean, states after "synced f1"
# hold it, and states that lost f2 exist (CHECK wants both, so those fail).
source "$(dirname "$0")/lib.sh" "$@"

workload='echo one > f1; sync f1; echo "synced f1" > "$CARDFS_MARK"; echo two > f2'
check='[ "$(cat f1 2>/dev/null)" = one ] || { echo "f1: $(cat f1 2>&1)"; exit 2; }; [ "$(cat f2 2>/dev/null)" = two ] || { echo "no f2"; exit 1; }'
for fs in xfs:"xfs_repair -n" btrfs:"btrfs check --readonly"; do
  name=${fs%%:*} checker=${fs#*:}
  ct_run "$name" --fs "$name" --size 512M --points 6 --seed 4 --jobs 2 --timeout 60 --check "$check" -- sh -c "$workload"
  verdicts=$(ct_json "$name" 'sorted({s["verdict"] for s in j["states"]})')
  [ "$verdicts" = "['check failed', 'pass']" ] && ct_log "ok: $name: every state mounted; some lost f2, some hold it" ||
    ct_fail "$name: verdicts $verdicts: $(ct_json "$name" '[(s["state"], s["verdict"], s["detail"][:200]) for s in j["states"] if s["verdict"] != "pass"]')"
  held=$(ct_json "$name" 'sorted({s["check_exit"] for s in j["states"] if s["marks_before"][-1:] == ["synced f1"]})')
  [ -n "$held" ] && [ "$held" != "[]" ] && [[ $held != *2* ]] && ct_log "ok: $name: f1 held after its sync" ||
    ct_fail "$name: CHECK's exits after 'synced f1': $held"
  tools=$(ct_json "$name" 'sorted({(s["repair"], s["fsck"], s["fsck_exit"]) for s in j["states"]})')
  [ "$tools" = "[('', '$checker', 0)]" ] && ct_log "ok: $name: $checker found every state clean" ||
    ct_fail "$name: the checker's verdicts: $tools"
done
if losetup -a | grep -qF "$CT_TMP" || grep -qF "$CT_TMP" /proc/mounts; then
  ct_fail "left behind: $(losetup -a | grep -F "$CT_TMP") $(grep -F "$CT_TMP" /proc/mounts)"
fi
ct_pass
