#!/usr/bin/env bash
# Issue 19 over ext4 (the card's export, a loop device, the kernel's ext4
# and its journal recovery at mount; then e2fsck -fn on the card's device):
# - sqlite3 (WAL) synchronous=OFF against FULL, the check of sqlite.sh:
#   OFF never fsyncs, so ext4 leaves the rows in the page cache until its
#   commit timer or the unmount and crashtest finds states that lost
#   committed rows; FULL fsyncs the WAL at each commit: none;
# - e2fsck's verdict is in each state's result: clean after every state of
#   a journalled ext4, and ext4 made without its journal (-O ^has_journal,
#   metadata written back in any order) leaves states CHECK (`true`) passes
#   but e2fsck finds damaged, judged "filesystem inconsistent";
# - no loop device or mount under the test's directory is left behind.
source "$(dirname "$0")/lib.sh" "$@"
for p in sqlite3 e2fsck losetup; do
  command -v $p >/dev/null || { ct_log "$p is not installed (scripts/setup.sh installs it)"; exit 1; }
done

common=(--fs ext4 --size 64M --points 4 --seed 5 --jobs 2 --timeout 60 --setup "$CT_SQLITE_SETUP" --check "$CT_SQLITE_CHECK")
ct_run off "${common[@]}" -- sh -c "$(ct_sqlite_workload OFF 10)"
ct_expect_failures off "ext4, synchronous=OFF loses committed rows"
ct_run full "${common[@]}" -- sh -c "$(ct_sqlite_workload FULL 10)"
ct_expect_none full "ext4, synchronous=FULL"
[ "$(ct_json full 'sorted({(s["fsck"], s["fsck_exit"]) for s in j["states"]})')" = "[('e2fsck -fn', 0)]" ] &&
  ct_log "ok: e2fsck -fn found every state of the FULL run clean" ||
  ct_fail "e2fsck's verdict per state: $(ct_json full '[(s["state"], s.get("fsck"), s.get("fsck_exit")) for s in j["states"]]')"

# Metadata churn: files made and synced, then moved, removed and new ones
# written, left to the unmount's writeback. On a class4 card: its 32 KiB
# write buffer spills most of that writeback into flash before the next
# flush, so a cut between two metadata writes keeps one and loses the other
# (7-34 of ~80 states failed over 6 runs). The class10 card's 512 KiB buffer
# holds it all until the flush, so only a cut torn inside that flush failed:
# 0-2 states, depending on how the kernel ordered its writeback.
churn='mkdir a b; for i in $(seq 1 200); do echo $i > a/f$i; done; sync; for i in $(seq 1 200); do mv a/f$i b/; done; rm b/f1*; for i in $(seq 1 50); do head -c 9000 /dev/urandom > a/n$i; done'
ct_run nojournal --profile class4 --fs ext4 --mkfs='-O ^has_journal' --size 64M --points 100 --seed 2 --jobs 2 --timeout 60 --check true -- sh -c "$churn"
ct_expect_failures nojournal "ext4 without its journal: damaged states"
verdicts=$(ct_json nojournal 'sorted({(s["verdict"], s["fsck_exit"] != 0) for s in j["states"] if s["verdict"] != "pass"})')
[ "$verdicts" = "[('filesystem inconsistent', True)]" ] && ct_log "ok: each is e2fsck's verdict" ||
  ct_fail "the failing states' verdicts: $verdicts"
grep -q "e2fsck -fn after recovery" "$CT_TMP/nojournal.md" || ct_fail "the report shows e2fsck's output"
ct_run journal --profile class4 --fs ext4 --size 64M --points 100 --seed 2 --jobs 2 --timeout 60 --check true -- sh -c "$churn"
ct_expect_none journal "ext4 with its journal, the same churn"

if losetup -a | grep -qF "$CT_TMP" || grep -qF "$CT_TMP" /proc/mounts; then
  ct_fail "left behind: $(losetup -a | grep -F "$CT_TMP") $(grep -F "$CT_TMP" /proc/mounts)"
fi
ct_pass
