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

common=(--size 64M --mkfs='-O ^journal' --points "$points" --seed 5 --jobs 2 --setup "$CT_SQLITE_SETUP" --check "$CT_SQLITE_CHECK")
ct_run off "${common[@]}" -- sh -c "$(ct_sqlite_workload OFF 15)"
ct_expect_failures off "synchronous=OFF loses committed rows"
ct_run full "${common[@]}" -- sh -c "$(ct_sqlite_workload FULL 15)"
ct_expect_none full "synchronous=FULL"
ct_pass
