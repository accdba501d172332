#!/usr/bin/env bash
# The cardfs binary as a user meets it: help, version, exit codes, and
# multi-call symlinks. Usage: binary_smoke.sh PATH/TO/cardfs
set -u
bin=$1
fail=0
check() {  # check DESCRIPTION EXPECTED_RC ACTUAL_RC
  if [ "$2" != "$3" ]; then echo "FAIL: $1 (exit $3, expected $2)"; fail=1; else echo "ok: $1"; fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

out=$("$bin" --version); check "--version" 0 $?
[[ $out == cardfs\ * ]] || { echo "FAIL: version text: $out"; fail=1; }
"$bin" --help >"$tmp/help"; check "--help" 0 $?
grep -q "Usage" "$tmp/help" || { echo "FAIL: help has no usage"; fail=1; }

"$bin" bogus 2>"$tmp/err"; check "unknown subcommand" 2 $?
[ "$(wc -l <"$tmp/err")" -le 3 ] || { echo "FAIL: error is not short:"; cat "$tmp/err"; fail=1; }
grep -q "bogus" "$tmp/err" || { echo "FAIL: error does not name the bad word"; fail=1; }
grep -qi "terminate\|exception" "$tmp/err" && { echo "FAIL: exception trace"; fail=1; }
"$bin" --no-such-flag 2>/dev/null; check "unknown option" 2 $?

# A symlink named mkfs.cardfs reaches `cardfs mkfs` (or says it is not built).
ln -s "$(readlink -f "$bin")" "$tmp/mkfs.cardfs"
if "$bin" --help | grep -qE '^ +mkfs'; then
  "$tmp/mkfs.cardfs" --help >"$tmp/mkfs_help"; check "mkfs.cardfs --help" 0 $?
  grep -qi "mkfs" "$tmp/mkfs_help" || { echo "FAIL: mkfs.cardfs did not reach mkfs"; fail=1; }
else
  "$tmp/mkfs.cardfs" --help 2>"$tmp/err"; check "mkfs.cardfs before mkfs exists" 2 $?
  grep -q "not available" "$tmp/err" || { echo "FAIL: unclear message"; fail=1; }
fi
# -V, as e2fsprogs: every name and subcommand prints the version, exit 0.
for name in mkfs.cardfs fsck.cardfs; do
  ln -sf "$(readlink -f "$bin")" "$tmp/$name"
  out=$("$tmp/$name" -V 2>&1); check "$name -V" 0 $?
  [[ $out == "$name (cardfs) "* ]] || { echo "FAIL: $name -V said: $out"; fail=1; }
done
out=$("$bin" mkfs -V "$tmp/v.img" 2>&1); check "cardfs mkfs -V (nothing made)" 0 $?
[ ! -e "$tmp/v.img" ] || { echo "FAIL: mkfs -V made an image"; fail=1; }
[ "$("$bin" -V)" = "$("$bin" --version)" ] || { echo "FAIL: cardfs -V differs from --version"; fail=1; }

# Errors, usage lines and help name the program as the user typed it.
said() {  # said DESCRIPTION EXPECTED_RC PATTERN COMMAND...: stderr+stdout matches PATTERN
  local what=$1 rc=$2 pattern=$3 out; shift 3
  out=$("$@" 2>&1); check "$what" "$rc" $?
  grep -qE "$pattern" <<<"$out" || { echo "FAIL: $what said: $out"; fail=1; }
  grep -qE "^cardfs:|'cardfs --help'" <<<"$out" && [[ $1 != "$bin" ]] &&
    { echo "FAIL: $what names cardfs: $out"; fail=1; }
}
said "mkfs.cardfs with no image" 2 "^mkfs.cardfs: image is required" "$tmp/mkfs.cardfs"
said "mkfs.cardfs's usage hint" 2 "Run 'mkfs.cardfs --help'" "$tmp/mkfs.cardfs" -b 3 x
said "mkfs.cardfs --help" 0 "^Usage: mkfs.cardfs \[OPTIONS\] image" "$tmp/mkfs.cardfs" --help
said "mkfs.cardfs: a failure" 1 "^mkfs.cardfs: .*does not exist" "$tmp/mkfs.cardfs" "$tmp/none.img"
said "cardfs mkfs: a failure" 1 "^cardfs mkfs: .*does not exist" "$bin" mkfs "$tmp/none.img"
said "cardfs mkfs --bogus" 2 "^cardfs mkfs: .*--bogus.*|Run 'cardfs mkfs --help'" "$bin" mkfs --bogus x
said "cardfs card info" 2 "^cardfs card info: image is required" "$bin" card info
said "fsck.cardfs with no image" 16 "^fsck.cardfs: no image given" "$tmp/fsck.cardfs"
said "fsck.cardfs's usage" 16 "^Usage: fsck.cardfs " "$tmp/fsck.cardfs" -x
said "cardfs fsck's usage" 16 "^Usage: cardfs fsck " "$bin" fsck -x
ln -sf "$(readlink -f "$bin")" "$tmp/mount.cardfs"
said "mount.cardfs: a failure" 1 "^mount.cardfs: " "$tmp/mount.cardfs" "$tmp/none.img" "$tmp"
exit $fail
