#!/usr/bin/env bash
# Issue 19: "write a new version, rename it over the old one" checked for
# "the file holds the old content or one whole new version". The
# application also appends to a progress file with fsync after each step,
# as loggers do. Without fsync of the new version, on a filesystem that
# does not order the rename after the data (cardfs -O ^journal: ext2's
# rules; the progress file's fsync writes the inode table and directory
# blocks the rename changed), crashtest finds states where the file holds
# neither; with the protocol (fsync the new file, rename, fsync the
# directory) it finds none. CARDFS_CRASHTEST_POINTS widens the sweep.
source "$(dirname "$0")/lib.sh" "$@"
points=${CARDFS_CRASHTEST_POINTS:-6}

setup='yes old | head -n 2000 > data'
# Versions of different sizes, so a name pointing at another version's
# blocks shows.
progress='echo "renamed $i" >> progress; sync progress; echo "renamed $i" > "$CARDFS_MARK"'
no_fsync='for i in $(seq 1 8); do yes "v$i" | head -n $((1000 * i)) > data.tmp; mv data.tmp data; '"$progress"'; done'
with_fsync='for i in $(seq 1 8); do yes "v$i" | head -n $((1000 * i)) | dd of=data.tmp conv=fsync status=none; mv data.tmp data; sync .; '"$progress"'; done'
check='[ -f data ] || { echo "data is missing"; exit 1; }
first=$(head -n 1 data); lines=$(wc -l < data); kinds=$(sort -u data | wc -l)
[ "$first" = old ] && [ "$lines" = 2000 ] && [ "$kinds" = 1 ] && exit 0
case $first in v[0-9]*) [ "$kinds" = 1 ] && [ "$lines" = "$((1000 * ${first#v}))" ] && exit 0;; esac
echo "data holds neither the old content nor a whole version: $lines lines, $kinds kinds, first \"$first\""; exit 1'

common=(--size 64M --mkfs='-O ^journal' --points "$points" --seed 3 --jobs 2 --setup "$setup" --check "$check")
ct_run nofsync "${common[@]}" -- sh -c "$no_fsync"
ct_expect_failures nofsync "without fsync, states where data holds neither"
first=$(ct_json nofsync 'j["first_failure"]["image"]')
[ -f "$first" ] || ct_fail "the first failure's image is kept ($first)"
grep -q "neither" "$CT_TMP/nofsync.md" || ct_fail "the report shows CHECK's output"
grep -q -- "--only" "$CT_TMP/nofsync.md" || ct_fail "the report says how to rebuild the failure"
ct_run fsync "${common[@]}" -- sh -c "$with_fsync"
ct_expect_none fsync "with the fsync protocol"
ct_pass
