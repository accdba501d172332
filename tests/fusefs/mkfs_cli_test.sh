#!/bin/sh
# mkfs.cardfs end to end: creates a card image, formats it, refuses to
# format it again without -F, and validates its options.
set -u
CARDFS="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
img="$dir/card.img"
fail() { echo "FAIL: $*"; exit 1; }

out=$("$CARDFS" mkfs "$img" --size 64M -b 1024 -L cli-test) || fail "mkfs on a new image"
echo "$out" | grep -q "65536 1k blocks" || fail "summary lacks the block count: $out"
echo "$out" | grep -q "8193, 24577, 40961, 57345" || fail "summary lacks the backup locations: $out"
echo "$out" | grep -q "volume name: cli-test" || fail "summary lacks the label: $out"

# Both formats stay supported: no journal with -O ^journal, a chosen size with -J.
out=$("$CARDFS" mkfs -F -O ^journal "$img") || fail "mkfs -O ^journal"
echo "$out" | grep -q "Journal:" && fail "-O ^journal made a journal: $out"
"$CARDFS" fsck -fn "$img" >/dev/null || fail "fsck of a journal-less image"
out=$("$CARDFS" mkfs -F -J size=8 "$img") || fail "mkfs -J size=8"
echo "$out" | grep -q "Journal: 2048 blocks" || fail "-J size=8 is not 2048 4k blocks: $out"
"$CARDFS" fsck -fn "$img" >/dev/null || fail "fsck of an image with a journal"
"$CARDFS" mkfs -F -O ^dir_index "$img" >/dev/null 2>&1 && fail "an unknown -O feature was accepted"
# -E nodiscard writes the inode tables instead of discarding the card first.
"$CARDFS" mkfs -F -q -E nodiscard "$img" || fail "mkfs -E nodiscard"
"$CARDFS" fsck -fn "$img" >/dev/null || fail "fsck of an image made with -E nodiscard"
"$CARDFS" mkfs -F -q -E discard "$img" || fail "mkfs -E discard"
"$CARDFS" mkfs -F -E lazy_itable_init "$img" >/dev/null 2>&1 && fail "an unknown -E option was accepted"

"$CARDFS" mkfs "$img" >/dev/null 2>"$dir/err" && fail "reformat without -F succeeded"
grep -q "use -F" "$dir/err" || fail "refusal does not mention -F: $(cat "$dir/err")"
"$CARDFS" mkfs -F -q "$img" >"$dir/out" || fail "mkfs -F"
[ ! -s "$dir/out" ] || fail "-q printed: $(cat "$dir/out")"
"$CARDFS" mkfs -F -b 512 "$img" >/dev/null 2>&1
[ $? -eq 2 ] || fail "a bad block size is not a usage error"
"$CARDFS" mkfs "$dir/missing.img" >/dev/null 2>&1 && fail "mkfs of a missing image without --size"

# -n (mke2fs -n): what would be made, nothing written. With a fixed UUID the
# summary is the one the real run prints.
uuid=3b6f7b62-3f2e-4c3a-9d1e-2f1e0c0b0a09
dry=$("$CARDFS" mkfs -n -U $uuid --size 64M -b 2048 "$dir/new.img") || fail "mkfs -n of a new image"
[ ! -e "$dir/new.img" ] || fail "mkfs -n created the image"
real=$("$CARDFS" mkfs -U $uuid --size 64M -b 2048 "$dir/new.img") || fail "mkfs of the same image"
[ "$dry" = "$real" ] || fail "mkfs -n showed something else than mkfs made: $dry // $real"
sum=$(md5sum <"$img")
dry=$("$CARDFS" mkfs -n -U $uuid -b 1024 "$img") || fail "mkfs -n of an existing image"
[ "$(md5sum <"$img")" = "$sum" ] || fail "mkfs -n changed the image"
echo "$dry" | grep -q "holds a cardfs filesystem: making one needs -F" || fail "-n does not warn of the filesystem: $dry"
echo "$dry" | grep -q "65536 1k blocks" || fail "-n summary of the image: $dry"
real=$("$CARDFS" mkfs -F -U $uuid -b 1024 "$img") || fail "mkfs -F"
[ "$dry" = "$(printf '%s holds a cardfs filesystem: making one needs -F\n%s' "$img" "$real")" ] ||
  fail "mkfs -n of the image showed something else than mkfs -F made"
"$CARDFS" mkfs -n --size 64M "$img" >/dev/null 2>&1 && fail "mkfs -n --size of an existing image"
echo ok
