#!/usr/bin/env bash
# Issue 19: sqlite3 (WAL) with synchronous=OFF against synchronous=FULL.
# The workload commits rows one transaction at a time and marks each commit
# ("committed N"); the check asks for PRAGMA integrity_check = ok and every
# row committed before the cut (CARDFS_LAST_MARK). Failures are found with
# OFF, none with FULL. (In the default rollback mode, FULL leaves the last
# commit undone when the journal's unlink did not reach the card; sqlite's
# EXTRA syncs the directory for that: docs/crashtest.md.)
# CARDFS_CRASHTEST_POINTS widens the sweep.
source "$(dirname "$0")/lib.sh" "$@"
command -v sqlite3 >/dev/null || { ct_log "sqlite3 is not installed (scripts/setup.sh installs it)"; exit 1; }
points=${CARDFS_CRASHTEST_POINTS:-4}

setup='sqlite3 app.db "PRAGMA journal_mode=WAL; CREATE TABLE log(id INTEGER PRIMARY KEY, v TEXT);" >/dev/null'
workload() {  # $1: OFF or FULL
  echo 'for i in $(seq 1 15); do sqlite3 app.db "PRAGMA synchronous='"$1"'; INSERT INTO log VALUES($i, hex(randomblob(2000)));" || exit 1; echo "committed $i" > "$CARDFS_MARK"; done'
}
check='ok=$(sqlite3 app.db "PRAGMA integrity_check;" 2>&1); [ "$ok" = ok ] || { echo "integrity_check: $ok"; exit 1; }
last=$(sqlite3 app.db "SELECT coalesce(max(id), 0) FROM log;"); want=${CARDFS_LAST_MARK#committed }; want=${want:-0}
[ "$last" -ge "$want" ] || { echo "last row $last, but $want was committed before the power cut"; exit 1; }
echo "ok: rows up to $last, $want committed"'

common=(--size 64M --mkfs='-O ^journal' --points "$points" --seed 5 --jobs 2 --setup "$setup" --check "$check")
ct_run off "${common[@]}" -- sh -c "$(workload OFF)"
ct_expect_failures off "synchronous=OFF loses committed rows"
ct_run full "${common[@]}" -- sh -c "$(workload FULL)"
ct_expect_none full "synchronous=FULL"
ct_pass
