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
# A missing trace is an error, not an empty listing.
if "$cardfs" trace nosuchtrace 2>/dev/null; then exit 1; fi
echo ok
