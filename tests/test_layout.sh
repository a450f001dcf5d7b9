#!/usr/bin/env bash
# The layout's rules (docs/DESIGN.md, "Who may include whom"), checked on the
# source tree: every project #include of a folder's .c and .h files names a
# folder that folder may use, and no file of tools/ (the command line:
# argument parsing and printing only) is over 400 lines. A failure names the
# file, the line and the rule.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 1

# folder -> the folders its files may include (itself always)
declare -A may=(
  [base]=""
  [city_data]="base"
  [value]="base city_data"
  [dispatch]="base city_data value"
  [sim]="base city_data value dispatch"
  [run]="base city_data value dispatch sim"
  [view]="base city_data value dispatch sim run"
  [capi]="base city_data value dispatch sim run"
  [tools]="base city_data value dispatch sim run view"
)
known=" base city_data value dispatch sim run view capi tools tests python "

fails=0 files=0
for dir in "${!may[@]}"; do
  [ -d "$dir" ] || continue
  allowed=" $dir ${may[$dir]} "
  while IFS= read -r f; do
    files=$((files + 1))
    while IFS=: read -r line inc; do
      target=${inc%%/*}
      case "$known" in *" $target "*) ;; *) continue ;; esac
      case "$allowed" in
        *" $target "*) ;;
        *) echo "FAIL - $f:$line includes \"$inc\": $dir/ may include only:${allowed% }"
           fails=$((fails + 1)) ;;
      esac
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z_]+/' "$f" |
             sed -E 's/^([0-9]+):[^"]*"([^"]+)".*/\1:\2/')
  done < <(find "$dir" -name build -prune -o \( -name '*.c' -o -name '*.h' \) -print | sort)
done
echo "ok   - include rules: $files files of ${#may[@]} folders checked"

for f in tools/*.c tools/*.h; do
  n=$(wc -l <"$f")
  if [ "$n" -gt 400 ]; then
    echo "FAIL - $f: $n lines; a file of tools/ has at most 400 (library code belongs in run/ or below)"
    fails=$((fails + 1))
  fi
done
echo "ok   - tools/: largest file $(wc -l tools/*.c tools/*.h | sort -n | sed -n 'x;$p' | awk '{print $2, $1}') lines"

[ "$fails" -eq 0 ] || { echo "$fails layout rule(s) broken"; exit 1; }
echo "layout: all rules hold"
