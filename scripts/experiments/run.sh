#!/usr/bin/env bash
# Runs the seed experiments and prints the whole table (as root: mounts,
# drop_caches). Experiments that need a piece this build lacks say SKIP
# with the reason.
#   scripts/experiments/run.sh [CARDFS_BINARY] [seed000 seed001 ...]
# Exit: 0 every row passed or was skipped, 1 any row failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$HERE/../../build/cardfs}
shift || true
experiments=("$@")
[ ${#experiments[@]} -gt 0 ] || experiments=(seed000 seed001 seed002 seed003 seed004 seed004_card)

export EX_TABLE
EX_TABLE=$(mktemp /tmp/cardfs-exp-table.XXXXXX)
trap 'rm -f "$EX_TABLE"' EXIT
failed=0
for e in "${experiments[@]}"; do
  echo "== $e" >&2
  timeout -k 10 1800 bash "$HERE/$e.sh" "$bin" >/dev/null
  rc=$?
  case $rc in
    0 | 77) ;;
    *) failed=1; echo "$e: exit $rc" >&2 ;;
  esac
done

echo
echo "| experiment | expected | observed | result |"
echo "|---|---|---|---|"
cat "$EX_TABLE"
printf '\n%s passed, %s failed, %s skipped\n' "$(grep -c '| PASS |$' "$EX_TABLE")" \
  "$(grep -c '| FAIL |$' "$EX_TABLE")" "$(grep -c '| SKIP |$' "$EX_TABLE")"
exit $failed
