#!/usr/bin/env bash
# make lab-check LAB=n: checks the checkpoint of lab n of docs/workshop/ on this machine, against
# the running `make dev` (on PORT) and what the lab's steps wrote under target/workshop/. Prints
# one line per check, `ok` or `missing`, and for what is missing the lab's hint (the "## Hint"
# section of its file, so the guide and the check say the same); exits 0 when every check passes.
# Reuses `make smoke` for "every strategy answers" rather than speaking the protocol itself, and
# reads the strategies from what the project and the stack declare: it names none. Every wait
# is bounded (curl --max-time, the smoke check's own limits).
set -u

LAB=${LAB:-}
PORT=${PORT:-8080}
URL=${URL:-}
MAKE=${MAKE:-make}
LOCAL=http://127.0.0.1:$PORT
OUT=target/workshop
failed=0

# line STATE WHAT DETAIL: one aligned line.
line() { printf '%-8s %-34s %s\n' "$1" "$2" "$3"; }
ok() { line ok "$1" "$2"; }
missing() { failed=1; line missing "$1" "$2"; }

lab_file() { ls docs/workshop/"$1"-*.md 2>/dev/null | head -n 1; }

# The lab's "## Hint" section, printed under the checks when one is missing.
hint() {
    local file
    file=$(lab_file "$LAB")
    [ -n "$file" ] || return 0
    echo
    echo "Hint ($file):"
    awk '/^## /{on = ($0 == "## Hint"); next} on' "$file" | sed '/^$/d; s/^/  /'
}

# get URL: the body of a GET, within 5 s; fails when nothing answers 2xx.
get() { curl --silent --show-error --fail --max-time 5 "$1"; }

# json EXPR: EXPR (Python, over `d`, the JSON document on stdin) printed.
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

# The services this project has: one folder with a manifest per strategy.
services_here() { ls -d services/*/Cargo.toml 2>/dev/null | wc -l | tr -d ' '; }

# The stack answers on PORT and serves every strategy under services/.
check_stack() {
    local config served here
    if ! config=$(get "$LOCAL/config.json" 2>&1); then
        missing "make dev answers on port $PORT" "nothing answered $LOCAL/config.json within 5 s ($config)"
        return 1
    fi
    ok "make dev answers on port $PORT" "$LOCAL"
    served=$(printf '%s' "$config" | json 'len(d.get("strategies", {}))')
    here=$(services_here)
    if [ "$served" = "$here" ]; then
        ok "it serves every strategy" "$here under services/, $served in /config.json"
    else
        missing "it serves every strategy" "services/ has $here, the running stack serves $served: restart make dev"
        return 1
    fi
}

# make smoke against URL (default: the local stack), its checklist shown.
check_smoke() {
    local target=${1:-$LOCAL} log
    log=$(mktemp)
    if "$MAKE" --no-print-directory smoke URL="$target" SMOKE_FLAGS=--skip-long >"$log" 2>&1; then
        ok "make smoke" "every check passed against $target"
    else
        sed 's/^/    /' "$log"
        missing "make smoke" "a check failed against $target (its lines above)"
    fi
    rm -f "$log"
}

# samples DIR: the bench run written to DIR (bench-samples.json), as "strategy code" lines, the
# code `ok` for an answer; fails when DIR holds none.
samples() {
    [ -s "$1/bench-samples.json" ] || return 1
    json '"\n".join(s["strategy"] + " " + (s.get("error") or "ok") for s in d["samples"])' \
        <"$1/bench-samples.json"
}

# check_codes DIR CODE WHAT: the bench run in DIR answered CODE from every strategy present.
check_codes() {
    local dir=$1 code=$2 what=$3 got strategies wrong
    if ! got=$(samples "$dir" 2>/dev/null); then
        missing "$what" "no $dir/bench-samples.json: run the lab's step that writes it"
        return
    fi
    strategies=$(printf '%s\n' "$got" | cut -d' ' -f1 | sort -u | wc -l | tr -d ' ')
    wrong=$(printf '%s\n' "$got" | awk -v code="$code" '$2 != code' | tr '\n' ',' | sed 's/,$//; s/,/, /g')
    if [ "$strategies" != "$(services_here)" ]; then
        missing "$what" "$dir has answers from $strategies strategies, services/ has $(services_here): run it again against make dev"
    elif [ -n "$wrong" ]; then
        missing "$what" "expected $code from every strategy, got: $wrong"
    else
        ok "$what" "$code from each of the $strategies strategies"
    fi
}

lab1() {
    check_stack && check_smoke
}

lab2() {
    check_codes "$OUT/lab2/throttle" THROTTLED "[fault=throttle] run"
    check_codes "$OUT/lab2/access-denied" MODEL_ACCESS_DENIED "[fault=access-denied] run"
    check_codes "$OUT/lab2/stream-error" MODEL_ERROR "[fault=stream-error] run"
}

lab3() {
    check_codes "$OUT/lab3" ok "the bench answered"
    if [ -s "$OUT/lab3/bench.svg" ]; then
        ok "the chart" "$OUT/lab3/bench.svg"
    else
        missing "the chart" "no $OUT/lab3/bench.svg"
    fi
}

lab4() {
    local first before now
    now=$(services_here)
    # The project's first commit is its generation (genai-scaffold new makes it).
    if first=$(git rev-list --max-parents=0 HEAD 2>/dev/null | tail -n 1) && [ -n "$first" ]; then
        before=$(git ls-tree --name-only "$first" services/ | wc -l | tr -d ' ')
        if [ "$now" -gt "$before" ]; then
            ok "a strategy was added" "services/ has $now, the first commit had $before"
        else
            missing "a strategy was added" "services/ has $now, as many as the first commit: run genai-scaffold add"
        fi
    else
        line note "a strategy was added" "not a git repository: cannot compare with the generation"
    fi
    check_stack && check_smoke
}

lab5() {
    local config model generated limit
    if ! config=$(get "$LOCAL/config.json" 2>&1); then
        missing "make dev answers on port $PORT" "nothing answered $LOCAL/config.json within 5 s ($config)"
    else
        ok "make dev answers on port $PORT" "$LOCAL"
        model=$(printf '%s' "$config" | json 'd.get("model")')
        generated=$(python3 infra/project.py answer model_id 2>/dev/null)
        if [ -n "$generated" ] && [ "$model" != "$generated" ]; then
            ok "another model" "$model (generated for $generated)"
        else
            missing "another model" "the stack invokes $model, the model the project was generated for: set MODEL_ID"
        fi
        limit=$(printf '%s' "$config" | json 'd.get("limits", {}).get("maxPromptBytes", 0)')
        if [ "$limit" -gt 0 ] && [ "$limit" -le 1024 ]; then
            ok "a lower prompt limit" "maxPromptBytes $limit"
        else
            missing "a lower prompt limit" "maxPromptBytes is $limit, the lab asks for 1024 or less: set MAX_PROMPT_BYTES"
        fi
    fi
    check_codes "$OUT/lab5" PAYLOAD_TOO_LARGE "a prompt over the limit refused"
}

lab6() {
    case "$URL" in
        https://*) check_smoke "$URL" ;;
        *) missing "a deployed stage" "give its URL: make lab-check LAB=6 URL=https://<distribution> (make outputs prints it)" ;;
    esac
}

lab7() {
    if curl --silent --max-time 2 --output /dev/null "$LOCAL/_local/status"; then
        missing "make dev stopped" "something still answers on $LOCAL: Ctrl-C the make dev"
    else
        ok "make dev stopped" "nothing answers on port $PORT"
    fi
    case "$URL" in
        https://*)
            if curl --silent --fail --max-time 10 --output /dev/null "$URL/config.json"; then
                missing "the stage removed" "$URL still answers: make destroy"
            else
                ok "the stage removed" "$URL answers no more"
            fi
            ;;
        *) line note "the stage removed" "no URL given: nothing deployed to check" ;;
    esac
}

case "$LAB" in
    [1-7]) ;;
    *)
        echo "usage: make lab-check LAB=n, n from 1 to 7 (docs/workshop/README.md lists the labs)" >&2
        exit 2
        ;;
esac

head -n 1 "$(lab_file "$LAB")" | sed 's/^# //'
"lab$LAB"
if [ "$failed" -ne 0 ]; then
    hint
    echo
    echo "Lab $LAB: not there yet (see missing above)."
    exit 1
fi
echo "Lab $LAB: done."
