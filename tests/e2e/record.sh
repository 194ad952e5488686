#!/bin/bash
# gtrace record on the script fixture, every Go version x plain/stripped/pie:
# the fixture starts with -wait, gtrace attaches, SIGUSR1 starts the script
# once gtrace printed "recording", and tests/e2e/check_record.py compares
# `gtrace report -f jsonl` with the workers the fixture printed (creates,
# exits, park reasons, stacks, labels, trailer and loss accounting).
# The three variants also cover the three ways a recording ends:
#   plain     Ctrl-C (SIGINT) after the fixture printed "done"  -> interrupted
#   stripped  -d 4 while the fixture holds                      -> duration
#   pie       SIGTERM to the holding fixture after "done"        -> target exited
# (-hold in every case: a fixture that exits right after "done" may take
# workers that closed their done channel but never reached goexit with it,
# and their missing exit events would not be gtrace's fault.)
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip record "no $GTRACE (run make)"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip record "no fixtures in $FIX"; exit 0; }

for v in $vers; do
	for var in plain stripped pie; do
		name=record/$v-$var
		bin=$FIX/script-$v-$var
		[ -x "$bin" ] || { skip "$name" "no $bin"; continue; }
		d=$TMP/$v-$var
		mkdir -p "$d"
		case $var in
		plain) fargs=(-wait -hold); gargs=(); stop=interrupted ;;
		stripped) fargs=(-wait -hold); gargs=(-d 4); stop=duration ;;
		pie) fargs=(-wait -hold); gargs=(-d 30); stop="target exited" ;;
		esac
		start_recording "$name" "$d" "$bin" "${fargs[@]}" -- "${gargs[@]}" || continue
		fpid=$FPID gpid=$GPID
		if ! wait_line "$d/fix.out" '^done$' 20; then
			indent "$d/fix.out"; fail "$name: fixture did not print done in 20 s"
		fi
		sleep 0.2 # let the last workers reach goexit
		[ $var = plain ] && kill -INT "$gpid"
		[ $var = pie ] && kill -TERM "$fpid"
		wait_exit "$gpid" 40
		grc=$EXIT_RC
		kill -TERM "$fpid" 2>/dev/null # -hold ends on SIGTERM
		wait_exit "$fpid" 10
		if [ $grc -ne 0 ]; then
			indent "$d/rec.err"; fail "$name: gtrace record exited $grc"; continue
		fi
		if ! "$GTRACE" report "$d/cap" -f jsonl > "$d/cap.jsonl" 2> "$d/rep.err"; then
			indent "$d/rep.err"; fail "$name: gtrace report -f jsonl failed"; continue
		fi
		python3 tests/e2e/check_record.py "$d/cap.jsonl" "$d/fix.out" "$name" "$stop"
	done
done
