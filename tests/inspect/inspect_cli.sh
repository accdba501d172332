#!/usr/bin/env bash
# cardfs inspect as debugfs users drive it (issue 22, item 5): --help lists
# the commands; -R runs one request, -f a command file (echoing each
# command); options anywhere on the line, an unknown one refused; the
# dumpe2fs-like `stats`; the prompt on a terminal edits lines and keeps a
# history across sessions (libedit, driven through script(1)'s pty).
# Usage: inspect_cli.sh PATH/TO/cardfs
set -u
bin=$(readlink -f "$1")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; shift; [ $# -gt 0 ] && printf '%s\n' "$@"; fail=1; }
"$bin" mkfs -q --size 16M -b 1024 img || { echo "mkfs failed"; exit 1; }

out=$("$bin" inspect --help) && grep -q "^stats " <<<"$out" && grep -q "^ls \[-l\] \[PATH\]" <<<"$out" &&
  grep -q -- "-R REQUEST" <<<"$out" && ok "--help lists options and commands" || bad "--help" "$out"

super=$("$bin" inspect img super)
[ "$("$bin" inspect -R super img)" = "$super" ] && ok "-R before the image" || bad "-R before the image"
[ "$("$bin" inspect img -R super)" = "$super" ] && ok "-R after the image" || bad "-R after the image"
[ "$("$bin" inspect -R "stat /lost+found" img)" = "$("$bin" inspect img stat /lost+found)" ] &&
  ok "-R with arguments" || bad "-R with arguments"

json=$("$bin" inspect img stat /lost+found --json)
python3 -c 'import json,sys; assert json.loads(sys.argv[1])["inode"] == 11' "$json" &&
  ok "--json after the command's words is honoured" || bad "--json after the command" "$json"
[ "$("$bin" inspect --json img stat /lost+found)" = "$json" ] && ok "--json anywhere: the same" || bad "--json before"
[ "$("$bin" inspect img ls -l /)" = "$("$bin" inspect img ls -l -- /)" ] && ok "a command's own -l, and --" ||
  bad "ls -l"

"$bin" inspect img stat / --bogus >out 2>err; rc=$?
[ $rc -eq 2 ] && grep -q "unknown option '--bogus'" err && ok "an unknown option after the command is refused" ||
  bad "--bogus after the command (exit $rc)" "$(cat err)"
"$bin" inspect -x img super >out 2>err; rc=$?
[ $rc -eq 2 ] && grep -q "unknown option '-x'" err && grep -q "cardfs inspect --help" err &&
  ok "an unknown option before the image is refused" || bad "-x (exit $rc)" "$(cat err)"
"$bin" inspect img super -R groups >/dev/null 2>err; [ $? -eq 2 ] && ok "a command and -R: refused" ||
  bad "command with -R"

printf '# a comment\nsuper\n\nstat /lost+found\nquit\ngroups\n' >cmds
"$bin" inspect -f cmds img >out; rc=$?
[ $rc -eq 0 ] && grep -q "^cardfs inspect: super$" out && grep -q "^cardfs inspect: stat /lost+found$" out &&
  ! grep -q "cardfs inspect: groups" out && ok "-f runs the file's commands up to quit, echoing each" ||
  bad "-f (exit $rc)" "$(cat out)"
printf 'super\nnosuch\n' | "$bin" inspect -f - img >out 2>err; rc=$?
[ $rc -eq 1 ] && grep -q "nosuch" err && ok "-f -: standard input; a failed command makes the exit 1" ||
  bad "-f - (exit $rc)" "$(cat err)"

out=$("$bin" inspect img stats)
grep -q "^Group 1: (Blocks 8193-16383)" <<<"$out" && grep -q "^  Free blocks: " <<<"$out" &&
  grep -q "^  Free inodes: " <<<"$out" && grep -q "^block_size: *1024" <<<"$out" &&
  ok "stats: superblock and every group, dumpe2fs's way" || bad "stats" "$out"

# The prompt: libedit on a pseudo-terminal. "supr", the cursor one left,
# "e" inserted: "super"; then the history's last line again (up arrow).
if command -v script >/dev/null 2>&1; then
  export HOME=$tmp TERM=xterm
  { sleep 1; printf 'supr'; printf '\033[D'; printf 'e\r'; sleep 1; printf '\033[A\r'; sleep 1; printf 'quit\r'; sleep 1; } |
    timeout 30 script -qec "$bin inspect img" /dev/null >tty.txt 2>&1
  n=$(grep -c "^magic: " <(tr -d '\r' <tty.txt))
  [ "$n" = 2 ] && ok "the prompt edits a line and recalls it from history" || bad "prompt: $n superblocks" "$(cat -v tty.txt | head -20)"
  [ "$(tail -n 2 "$HOME/.cardfs_inspect_history" 2>/dev/null | tr '\n' ' ')" = "super quit " ] &&
    ok "the history is kept in ~/.cardfs_inspect_history" || bad "history file" "$(cat "$HOME/.cardfs_inspect_history" 2>&1)"
fi
exit $fail
