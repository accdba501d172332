# Shared by the crashtest tests: a scratch directory removed on exit, a
# bounded crashtest run, and reading its report.json.
#   source lib.sh CARDFS
#   ct_run NAME crashtest-args...   runs it with --keep $CT_TMP/NAME (exit status in CT_RC,
#                                   report on stdout in $CT_TMP/NAME.md, or NAME.N.md for the Nth run)
#   ct_json NAME 'python expression on j'   prints the value
set -u
CARDFS=$(readlink -f "$1")
CT_TMP=$(mktemp -d /tmp/cardfs-crashtest-test.XXXXXX)
CT_FAILS=0
trap 'rm -rf "$CT_TMP"' EXIT

ct_log() { echo "[$(date +%T)] $*"; }
ct_fail() { ct_log "FAIL: $*"; CT_FAILS=$((CT_FAILS + 1)); }

ct_run() {
  local name=$1 out; shift
  out=$CT_TMP/$name.md
  [ -e "$out" ] && out=$CT_TMP/$name.$RANDOM.md
  ct_log "crashtest $name: $*"
  timeout -k 10 "${CT_TIMEOUT:-500}" "$CARDFS" crashtest --keep "$CT_TMP/$name" "$@" >"$out" 2>"$CT_TMP/$name.err"
  CT_RC=$?
  ct_log "exit $CT_RC: $(grep -E '^\| (states|card commands|judging)' "$out" | tr '\n' ' ')"
}

ct_json() {
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$CT_TMP/$1/report.json" "$2"
}

# The last ct_run NAME found failing states (as it should), or found none.
ct_expect_failures() {  # NAME WHAT
  local failed
  failed=$(ct_json "$1" 'j["states_failed"]')
  if [ "$CT_RC" -eq 1 ] && [ "${failed:-0}" -gt 0 ]; then
    ct_log "ok: $2: $failed failing state(s) found"
  else
    ct_fail "$2: exit $CT_RC, ${failed:-no} failed states (expected some): $(cat "$CT_TMP/$1.err")"
  fi
}
ct_expect_none() {  # NAME WHAT
  if [ "$CT_RC" -eq 0 ]; then
    ct_log "ok: $2: no state fails ($(ct_json "$1" 'j["states_judged"]') judged)"
  else
    ct_fail "$2: exit $CT_RC; $(sed -n '/## Failures/,/## All/p' "$CT_TMP/$1.md" | head -40)"
  fi
}

# sqlite3 in WAL mode, one row per transaction, each commit marked
# ("committed N"); the check wants PRAGMA integrity_check = ok and every
# row committed before the cut (CARDFS_LAST_MARK).
CT_SQLITE_SETUP='sqlite3 app.db "PRAGMA journal_mode=WAL; CREATE TABLE log(id INTEGER PRIMARY KEY, v TEXT);" >/dev/null'
CT_SQLITE_CHECK='ok=$(sqlite3 app.db "PRAGMA integrity_check;" 2>&1); [ "$ok" = ok ] || { echo "integrity_check: $ok"; exit 1; }
last=$(sqlite3 app.db "SELECT coalesce(max(id), 0) FROM log;"); want=${CARDFS_LAST_MARK#committed }; want=${want:-0}
[ "$last" -ge "$want" ] || { echo "last row $last, but $want was committed before the power cut"; exit 1; }
echo "ok: rows up to $last, $want committed"'
ct_sqlite_workload() {  # SYNCHRONOUS ROWS
  echo 'for i in $(seq 1 '"$2"'); do sqlite3 app.db "PRAGMA synchronous='"$1"'; INSERT INTO log VALUES($i, hex(randomblob(2000)));" || exit 1; echo "committed $i" > "$CARDFS_MARK"; done'
}

ct_pass() {
  if [ "$CT_FAILS" -ne 0 ]; then ct_log "$CT_FAILS step(s) failed"; exit 1; fi
  ct_log "all steps passed"
  exit 0
}
