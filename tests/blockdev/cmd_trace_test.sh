#!/usr/bin/env bash
# `cardfs trace` against Debian's blkparse on the same trace: the event
# lines (all, and filtered by action as `grep " C "` does) and the summary.
set -euo pipefail
cardfs=$1 sample=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
"$sample" mmcblk0
blkparse -i mmcblk0 2>/dev/null | grep -v '^Input file' > blkparse.txt
"$cardfs" trace mmcblk0 > ours.txt
diff -u blkparse.txt ours.txt
grep ' C ' blkparse.txt > blkparse_c.txt
"$cardfs" trace -a C --no-summary mmcblk0 > ours_c.txt
diff -u blkparse_c.txt ours_c.txt
[ "$(wc -l < ours_c.txt)" -gt 3 ]
# The message notes (.cardfs/mark) are printed where they fell.
[ "$(grep -c ' m   N ' ours.txt)" = 2 ]
# A card's command log: its markers as notes between the commands, the
# recording process named in each command (not "[(null)]"), the data
# records counted but not printed, as blkparse does.
"$sample" --command-log cardlog
blkparse -i cardlog 2>/dev/null | grep -v '^Input file' > blkparse_log.txt
"$cardfs" trace cardlog > ours_log.txt
diff -u blkparse_log.txt ours_log.txt
[ "$(grep -c ' m   N ' ours_log.txt)" = 3 ]
grep -q ' D   W 2048 + 160 \[blockdev_trace_' ours_log.txt
if grep -q '(null)' ours_log.txt; then exit 1; fi
# A missing trace is an error, not an empty listing.
if "$cardfs" trace nosuchtrace 2>/dev/null; then exit 1; fi
echo ok
