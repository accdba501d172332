#!/usr/bin/env bash
# Issue 19: the recorded command log replayed completely on the snapshot
# gives exactly the card image the live run left (state "all"), so every
# crash state is a true prefix of the run. Also: --only judges one state of
# a kept recording without running the workload again.
source "$(dirname "$0")/lib.sh" "$@"

workload='for i in $(seq 12); do head -c 200000 /dev/urandom > f$i; done; sync f1; rm f3; mkdir d; mv f5 d/; echo written > "$CARDFS_MARK"; head -c 5000000 /dev/urandom > big'
ct_run live --size 64M --points 2 --check true -- sh -c "$workload"
[ "$CT_RC" -eq 0 ] || ct_fail "the crashtest run (exit $CT_RC): $(cat "$CT_TMP/live.err")"
[ "$(ct_json live 'j["marks"]')" = 1 ] || ct_fail "the workload's marker is in the log"
ct_run live --only all --check 'test -f big && test ! -e f3 && test -f d/f5' -- true
[ "$CT_RC" -eq 0 ] || ct_fail "judging state all (exit $CT_RC): $(cat "$CT_TMP/live.err")"
if cmp "$CT_TMP/live/states/all/crash.img" "$CT_TMP/live/recording/card.img"; then
  ct_log "ok: the full log replayed is the live run's image, byte for byte"
else
  ct_fail "the full log replayed differs from the live run's image"
fi
ct_pass
