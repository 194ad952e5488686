# For the suites that kill their own children on purpose (sourced after
# lib.sh, which holds spawn, wait_line, wait_exit and start_recording; not
# a suite itself, hence not *.sh): drops bash's notices of those kills and,
# on exit, also reaps what spawn started.
# bash reports each background job killed by a signal ("line N: PID Killed
# ..."); those kills are on purpose, so drop the notices from stderr.
exec 2> >(grep --line-buffered -vE '^[^ ]+: line [0-9]+: +[0-9]+ (Killed|Terminated|Aborted)' >&2)
trap 'for p in $SPAWNED ${BG_PIDS:-}; do kill -KILL "$p" 2>/dev/null; done; for p in $SPAWNED; do wait "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
