#!/usr/bin/env bash
# Issue 19 over exFAT (the card's export, a loop device, mkfs.exfat and
# exfat-fuse, as cameras and loggers format cards): each state gets
# fsck.exfat -p before its mount (exFAT has no log: a boot repairs it) and
# fsck.exfat -n after the unmount, both verdicts in the state's result.
# What exFAT shows: exfat-fuse keeps a rename and the new file's data in
# the page cache until something fsyncs (and an fsync of any file flushes
# the whole volume), so an application that renames a new version in
# without fsync ("renamed 6" written as a marker) loses it at a power cut:
# the states after the markers hold the old content. With the protocol
# (fsync the new file, rename, fsync the directory) no state holds less
# than was promised, and none holds neither version.
# The protocol's run is also judged at seeded points, torn ones among them:
# a torn state used to lose sectors once the repair had written and the
# card was powered on again (a card-model bug, fixed in ftl_rebuild.cpp).
source "$(dirname "$0")/lib.sh" "$@"
for p in mkfs.exfat fsck.exfat mount.exfat-fuse losetup; do
  command -v $p >/dev/null || { ct_log "$p is not installed (scripts/setup.sh installs it)"; exit 1; }
done

setup='yes old | head -n 2000 > data'
no_fsync='for i in $(seq 1 8); do yes "v$i" | head -n $((1000 * i)) > data.tmp; mv data.tmp data; echo "renamed $i" > "$CARDFS_MARK"; done'
with_fsync='for i in $(seq 1 8); do yes "v$i" | head -n $((1000 * i)) | dd of=data.tmp conv=fsync status=none; mv data.tmp data; sync .; echo "renamed $i" > "$CARDFS_MARK"; done'
# The old content or one whole version, and at least the version renamed
# in before the cut.
check='[ -f data ] || { echo "data is missing"; exit 1; }
first=$(head -n 1 data); lines=$(wc -l < data); kinds=$(sort -u data | wc -l); have=
[ "$first" = old ] && [ "$lines" = 2000 ] && [ "$kinds" = 1 ] && have=0
case $first in v[0-9]*) [ "$kinds" = 1 ] && [ "$lines" = "$((1000 * ${first#v}))" ] && have=${first#v};; esac
[ -n "$have" ] || { echo "data holds neither the old content nor a whole version: $lines lines, $kinds kinds, first \"$first\""; exit 1; }
want=${CARDFS_LAST_MARK#renamed }; want=${want:-0}
[ "$have" -ge "$want" ] || { echo "data holds version $have, but version $want was renamed in before the power cut"; exit 1; }
echo "ok: version $have, $want promised"'
common=(--fs exfat --size 64M --jobs 2 --timeout 60 --setup "$setup" --check "$check")

ct_run nofsync "${common[@]}" --points 10 --seed 1 -- sh -c "$no_fsync"
ct_expect_failures nofsync "exFAT, rename without fsync"
lost=$(ct_json nofsync 'len([s for s in j["states"] if not s["torn"] and "was renamed in before" in s["check_output"]])')
[ "${lost:-0}" -gt 0 ] && ct_log "ok: $lost untorn states lost a promised rename" ||
  ct_fail "no untorn state lost a promised rename: $(ct_json nofsync '[(s["state"], s.get("verdict"), s.get("check_output")) for s in j["states"]]')"

ct_run fsync "${common[@]}" --points 10 --seed 1 -- sh -c "$with_fsync"
ct_expect_none fsync "exFAT, the fsync protocol"
[ "$(ct_json fsync 'j["states_judged"]')" -ge 16 ] && ct_log "ok: a state after each of its flushes" ||
  ct_fail "only $(ct_json fsync 'j["states_judged"]') states"
for run in nofsync fsync; do
  tools=$(ct_json $run 'sorted({(s["repair"], s["repair_exit"] in (0, 1), s["fsck"], s["fsck_exit"]) for s in j["states"]})')
  [ "$tools" = "[('fsck.exfat -p', True, 'fsck.exfat -n', 0)]" ] &&
    ct_log "ok: $run: fsck.exfat -p before each mount, fsck.exfat -n clean after each state" ||
    ct_fail "$run: the checkers' verdicts: $tools"
done
grep -q "| pass | clean |" "$CT_TMP/fsync.md" && ct_log "ok: report.md shows fsck.exfat's verdict" ||
  ct_fail "report.md has no fsck column for exFAT"

if losetup -a | grep -qF "$CT_TMP" || grep -qF "$CT_TMP" /proc/mounts; then
  ct_fail "left behind: $(losetup -a | grep -F "$CT_TMP") $(grep -F "$CT_TMP" /proc/mounts)"
fi
ct_pass
