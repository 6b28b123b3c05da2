#!/usr/bin/env bash
# AuditLoop acceptance check: the engine issue's "Done when", through the `auditloop` CLI and the HTTP API only.
#
#   scripts/acceptance.sh                      # SQLite in a temporary folder
#   scripts/acceptance.sh --postgres [URL]     # a fresh PostgreSQL database (dropped at the end); URL defaults to
#                                              # $AUDITLOOP_TEST_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/postgres
#
# Run it from anywhere after `make install`. It starts its own server on a free port, prints every step and its
# result, and exits non-zero at the first deviation (the server log is printed then).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AL=${AUDITLOOP_BIN:-$ROOT/.venv/bin/auditloop}
[[ -x $AL ]] || AL=$(command -v auditloop || true)
PY=${PYTHON:-python3}
[[ -n ${PYTHON-} || ! -x $ROOT/.venv/bin/python ]] || PY=$ROOT/.venv/bin/python # no pyenv shim: faster
VENV_PY=$ROOT/.venv/bin/python
[[ -x $VENV_PY ]] || VENV_PY=$PY

POSTGRES=""
while (($#)); do
    case $1 in
        --postgres)
            POSTGRES=${AUDITLOOP_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
            if [[ ${2-} == postgresql* ]]; then POSTGRES=$2; shift; fi
            ;;
        -h | --help)
            sed -n '2,9p' "${BASH_SOURCE[0]}" | cut -c3-
            exit 0
            ;;
        *)
            echo "unknown argument: $1 (try --help)" >&2
            exit 2
            ;;
    esac
    shift
done

# -- output and checks -----------------------------------------------------------------------------------------

STEP=0
step() {
    STEP=$((STEP + 1))
    printf '\n[%02d] %s\n' "$STEP" "$*"
}
ok() { printf '     ok: %s\n' "$*"; }
fail() {
    printf '\nFAILED at step %d: %s\n' "$STEP" "$*" >&2
    if [[ -n ${BODY-} && -s ${BODY-} ]]; then
        printf 'last response body: %s\n' "$(head -c 2000 "$BODY")" >&2
    fi
    if [[ -n ${WORK-} && -f $WORK/server.log ]]; then
        printf -- '--- last lines of the server log ---\n' >&2
        tail -n 40 "$WORK/server.log" >&2
    fi
    exit 1
}

# json FILE EXPR: evaluate a Python expression over the JSON document `d` in FILE and print the result.
json() {
    "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
r = eval(sys.argv[2])
print(json.dumps(r) if isinstance(r, (dict, list, bool)) or r is None else r)' "$1" "$2"
}

# check FILE EXPR MESSAGE: fail unless the Python expression over `d` is true.
check() {
    local result
    result=$(json "$1" "$2") || fail "could not evaluate $2 on $1"
    [[ $result == true ]] || fail "$3 (expected: $2)"
    ok "$3"
}

# http METHOD PATH TOKEN [JSON]: the body goes to $BODY, the status to $STATUS.
http() {
    local method=$1 path=$2 token=$3 data=${4-}
    local args=(-sS -o "$BODY" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $token")
    if [[ -n $data ]]; then args+=(-H 'Content-Type: application/json' --data-binary "$data"); fi
    STATUS=$(curl "${args[@]}" "$BASE$path") || fail "curl $method $path did not get an answer"
}

expect() {
    [[ $STATUS == "$1" ]] || fail "$2: expected HTTP $1, got $STATUS"
    ok "$2 -> HTTP $STATUS"
}

# -- a clean place: temp folder, database, free port -----------------------------------------------------------

[[ -n $AL && -x $AL ]] || {
    echo "auditloop not found: run 'make install' first" >&2
    exit 1
}
command -v curl >/dev/null || {
    echo "curl is needed" >&2
    exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/auditloop-acceptance.XXXXXX")
BODY=$WORK/body.json
RAND=$(basename "$WORK" | tr -dc 'A-Za-z0-9' | tail -c 7)
PWNED=/tmp/pwned_${RAND}_$$
SERVER_PID=""
PG_DB=""

pg_admin() { # run one SQL statement on the PostgreSQL server's maintenance database
    "$VENV_PY" -c 'import sys, sqlalchemy as sa
e = sa.create_engine(sys.argv[1], isolation_level="AUTOCOMMIT")
with e.connect() as c:
    c.exec_driver_sql(sys.argv[2])
e.dispose()' "$POSTGRES" "$1"
}

cleanup() {
    local rc=$?
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n $PG_DB ]]; then pg_admin "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" || true; fi
    rm -f "$PWNED"
    if ((rc == 0)); then rm -rf "$WORK"; else echo "work folder kept for inspection: $WORK" >&2; fi
}
trap cleanup EXIT

if [[ -n $POSTGRES ]]; then
    PG_DB=auditloop_accept_$(echo "$RAND" | tr 'A-Z' 'a-z')_$$
    pg_admin "CREATE DATABASE \"$PG_DB\"" || {
        PG_DB=""
        echo "cannot create a database on $POSTGRES" >&2
        exit 1
    }
    export AUDITLOOP_DATABASE_URL=${POSTGRES%/*}/$PG_DB
else
    export AUDITLOOP_DATABASE_URL=sqlite:///$WORK/auditloop.db
fi
export AUDITLOOP_SCHEDULER_TICK_S=1
export AUDITLOOP_SECRET_KEY=acceptance-$RAND
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
BASE=http://127.0.0.1:$PORT/api/v1
echo "AuditLoop acceptance: database ${AUDITLOOP_DATABASE_URL}, server port $PORT, work folder $WORK"

start_server() {
    "$AL" serve --host 127.0.0.1 --port "$PORT" >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 200); do
        if curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"; then
            ok "server up (pid $SERVER_PID) after ~$((i / 10)).$((i % 10)) s"
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited while starting"
        sleep 0.1
    done
    fail "the server did not answer /healthz within 20 s"
}

cli() { # run the CLI; its logging goes to the work folder, its output is returned
    "$AL" "$@" 2>>"$WORK/cli.log"
}

# -- 1. people -------------------------------------------------------------------------------------------------

step "create an admin and two users in two roles (auditloop user add --password-stdin)"
printf 'admin-password-1\n' | cli user add admin --role admin --password-stdin >/dev/null || fail "user add admin"
printf 'alice-password-1\n' | cli user add alice --role clerk --password-stdin >/dev/null || fail "user add alice"
printf 'bob-password-123\n' | cli user add bob --role manager --password-stdin >/dev/null || fail "user add bob"
ok "admin (admin), alice (clerk), bob (manager)"

step "create their API tokens (auditloop token create)"
T_ADMIN=$(cli token create admin) || fail "token create admin"
T_ALICE=$(cli token create alice) || fail "token create alice"
T_BOB=$(cli token create bob) || fail "token create bob"
for t in "$T_ADMIN" "$T_ALICE" "$T_BOB"; do [[ $t == al_* ]] || fail "a token does not look like one: $t"; done
ok "three tokens"

step "start the server (auditloop serve)"
start_server
http GET /tasks nobody
expect 401 "a request with an unknown token is refused"

# -- 2. the diagram --------------------------------------------------------------------------------------------

step "deploy examples/two_lane_approval.bpmn with its forms (POST /definitions, multipart)"
STATUS=$(curl -sS -o "$BODY" -w '%{http_code}' -H "Authorization: Bearer $T_ADMIN" \
    -F "file=@$ROOT/examples/two_lane_approval.bpmn" \
    -F "forms=@$ROOT/examples/forms/submit_expense.json" \
    -F "forms=@$ROOT/examples/forms/review_expense.json" "$BASE/definitions") || fail "curl deploy"
expect 201 "deployed"
check "$BODY" 'd["key"] == "expense_approval" and d["version"] == 1' "key expense_approval, version 1"
http GET /definitions/expense_approval/versions/1/xml "$T_ADMIN"
expect 200 "the published XML is readable"
grep -q '<bpmn:lane id="Lane_clerk" name="clerk">' "$BODY" && grep -q '<bpmn:lane id="Lane_manager" name="manager">' "$BODY" ||
    fail "the diagram lacks the lanes clerk and manager"
grep -q '<bpmn:exclusiveGateway' "$BODY" || fail "the diagram lacks an exclusive gateway"
grep -q 'sourceRef="Gateway_decision" targetRef="Task_submit"' "$BODY" || fail "the diagram lacks the rejection loop"
grep -q 'cancelActivity="false" attachedToRef="Task_review"' "$BODY" && grep -q '<bpmn:timeDuration>PT48H' "$BODY" ||
    fail "the diagram lacks the non-interrupting PT48H boundary timer"
ok "two lanes, an exclusive gateway, a rejection loop, a non-interrupting PT48H boundary timer"

step "deploying the same content again via the CLI publishes no new version (auditloop deploy)"
OUT=$(cli deploy "$ROOT/examples/two_lane_approval.bpmn") || fail "auditloop deploy exited $?"
[[ $OUT == "expense_approval version 1 (unchanged)" ]] || fail "auditloop deploy printed: $OUT"
ok "$OUT"

# -- 3. start; the first task is in the clerk's inbox only -----------------------------------------------------

step "alice starts an instance (POST /instances)"
http POST /instances "$T_ALICE" '{"process_key": "expense_approval", "business_key": "EXP-ACCEPT-1"}'
expect 201 "started"
INSTANCE=$(json "$BODY" 'd["id"]') || fail "no instance in the response"
check "$BODY" 'd["status"] == "running" and [(t["bpmn_id"], t["lane"]) for t in d["tasks"]] == [("Task_submit", "clerk")]' \
    "running, one open task: Submit expense in lane clerk"
SUBMIT1=$(json "$BODY" 'd["tasks"][0]["id"]') || fail "no submit1 in the response"
ok "instance $INSTANCE, task $SUBMIT1"

step "the task is in alice's (clerk) inbox and not in bob's (manager)"
http GET /tasks "$T_ALICE"
expect 200 "alice's inbox"
check "$BODY" "[t['id'] for t in d['items']] == ['$SUBMIT1']" "alice sees exactly Submit expense"
http GET /tasks "$T_BOB"
expect 200 "bob's inbox"
check "$BODY" "d['total'] == 0 and d['items'] == []" "bob's inbox is empty"
http GET "/tasks?scope=group" "$T_BOB"
check "$BODY" "'$SUBMIT1' not in [t['id'] for t in d['items']]" "nor is it in bob's group inbox"

step "bob may not complete the clerk's task"
http POST "/tasks/$SUBMIT1/complete" "$T_BOB" '{"data": {"amount": 12.5, "reason": "taxi"}}'
expect 403 "bob completing Submit expense"
check "$BODY" 'd["error"]["code"] == "forbidden"' "error code forbidden"

step "alice's invalid form data is refused with the fields named"
http POST "/tasks/$SUBMIT1/complete" "$T_ALICE" '{"data": {"amount": "lots"}}'
expect 422 "alice completing with amount=\"lots\" and no reason"
check "$BODY" 'set(d["error"]["details"]["fields"]) == {"amount", "reason"}' "details name amount and reason"

step "alice completes it"
http POST "/tasks/$SUBMIT1/complete" "$T_ALICE" '{"data": {"amount": 12.5, "reason": "taxi to the substation"}}'
expect 200 "alice completing Submit expense"
check "$BODY" '[(t["bpmn_id"], t["lane"]) for t in d["instance"]["tasks"]] == [("Task_review", "manager")]' \
    "the next task is Review expense in lane manager"
REVIEW1=$(json "$BODY" 'd["instance"]["tasks"][0]["id"]') || fail "no review1 in the response"
check "$BODY" '__import__("datetime").datetime.fromisoformat(d["instance"]["tasks"][0]["due_at"]) - __import__("datetime").datetime.fromisoformat(d["instance"]["tasks"][0]["created_at"]) == __import__("datetime").timedelta(hours=48)' \
    "Review expense is due 48 h after it opened (the boundary timer is armed)"

step "bob sees the next task; alice no longer has one"
http GET /tasks "$T_BOB"
check "$BODY" "[t['id'] for t in d['items']] == ['$REVIEW1']" "bob's inbox: exactly Review expense"
http GET /tasks "$T_ALICE"
check "$BODY" "d['items'] == []" "alice's inbox is empty"

# -- 4. kill -9 and restart ------------------------------------------------------------------------------------

step "snapshot, kill -9 the server, restart it on the same database"
http GET "/instances/$INSTANCE" "$T_ADMIN"
cp "$BODY" "$WORK/instance.before"
http GET /tasks "$T_BOB"
cp "$BODY" "$WORK/inbox_bob.before"
http GET /tasks "$T_ALICE"
cp "$BODY" "$WORK/inbox_alice.before"
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
kill -0 "$SERVER_PID" 2>/dev/null && fail "the server survived kill -9"
ok "killed pid $SERVER_PID with SIGKILL"
curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && fail "something still answers on port $PORT"
start_server

step "everything is where it was"
http GET "/instances/$INSTANCE" "$T_ADMIN"
expect 200 "the instance"
cp "$BODY" "$WORK/instance.after"
http GET /tasks "$T_BOB"
cp "$BODY" "$WORK/inbox_bob.after"
http GET /tasks "$T_ALICE"
cp "$BODY" "$WORK/inbox_alice.after"
for what in instance inbox_bob inbox_alice; do
    if ! cmp -s "$WORK/$what.before" "$WORK/$what.after"; then
        diff <("$PY" -m json.tool "$WORK/$what.before") <("$PY" -m json.tool "$WORK/$what.after") >&2 || true
        fail "$what differs after the restart"
    fi
    ok "$what: identical to before the kill ($(wc -c <"$WORK/$what.after") bytes)"
done

# -- 5. the race -----------------------------------------------------------------------------------------------

step "race: four concurrent completions of Review expense (reject, so the loop runs)"
RACERS=()
for i in 1 2 3 4; do
    curl -sS -o "$WORK/race.$i.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $T_BOB" \
        -H 'Content-Type: application/json' --data-binary '{"data": {"approved": false, "comment": "no receipt"}}' \
        "$BASE/tasks/$REVIEW1/complete" >"$WORK/race.$i.status" &
    RACERS+=($!)
done
wait "${RACERS[@]}" || fail "a racing curl got no answer"
CODES=$(for i in 1 2 3 4; do echo "$(cat "$WORK/race.$i.status")"; done | sort | tr '\n' ' ')
echo "     statuses: $CODES"
[[ $CODES == "200 409 409 409 " ]] || fail "expected one 200 and three 409, got: $CODES"
ok "one 200, three 409"
for i in 1 2 3 4; do
    if [[ $(cat "$WORK/race.$i.status") == 409 ]]; then
        check "$WORK/race.$i.json" 'd["error"]["code"] in ("conflict", "invalid_state", "concurrent_update")' \
            "loser $i: $(json "$WORK/race.$i.json" 'd["error"]["message"]')"
    fi
done

step "the rejection loop sent the expense back to alice, once"
http GET "/instances/$INSTANCE" "$T_ADMIN"
check "$BODY" "sum(1 for h in d['history'] if h['kind'] == 'task_completed' and h['task_id'] == '$REVIEW1') == 1" \
    "the history records exactly one completion of Review expense"
check "$BODY" '[t["bpmn_id"] for t in d["tasks"]] == ["Task_submit"]' "exactly one open task: Submit expense again"
SUBMIT2=$(json "$BODY" 'd["tasks"][0]["id"]') || fail "no submit2 in the response"
http GET /tasks "$T_ALICE"
check "$BODY" "[t['id'] for t in d['items']] == ['$SUBMIT2'] and '$SUBMIT2' != '$SUBMIT1'" "alice's inbox: the new Submit expense"

# -- 6. finish -------------------------------------------------------------------------------------------------

step "alice resubmits, bob approves"
http POST "/tasks/$SUBMIT2/complete" "$T_ALICE" '{"data": {"amount": 12.5, "reason": "taxi, receipt attached"}}'
expect 200 "alice resubmitting"
REVIEW2=$(json "$BODY" 'd["instance"]["tasks"][0]["id"]') || fail "no review2 in the response"
http POST "/tasks/$REVIEW2/complete" "$T_BOB" '{"data": {"approved": true}}'
expect 200 "bob approving"
check "$BODY" 'd["instance"]["status"] == "completed" and d["instance"]["tasks"] == []' "the instance is completed"
http POST "/tasks/$REVIEW2/complete" "$T_BOB" '{"data": {"approved": true}}'
expect 409 "completing it once more"

step "read its history (GET /instances/{id})"
http GET "/instances/$INSTANCE" "$T_ADMIN"
expect 200 "the instance"
json "$BODY" '"\n".join("     %s  %-15s %-6s %-13s %s" % (h["at"], h["kind"], h["actor"] or "", h["bpmn_id"] or "", h["message"]) for h in d["history"])'
check "$BODY" '[(h["kind"], h["actor"], h["bpmn_id"]) for h in d["history"]] == [("started", "alice", None), ("task_completed", "alice", "Task_submit"), ("task_completed", "bob", "Task_review"), ("task_completed", "alice", "Task_submit"), ("task_completed", "bob", "Task_review"), ("completed", "bob", None)]' \
    "started, submitted, rejected, resubmitted, approved, completed - each once, by the right person"
check "$BODY" 'd["status"] == "completed" and d["completed_at"] and d["data"]["approved"] is True' "status completed, data kept"
http GET "/tasks?state=completed" "$T_BOB"
check "$BODY" "sorted(t['id'] for t in d['items']) == sorted(['$REVIEW1', '$REVIEW2'])" "bob's completed tasks: both reviews"
http GET "/instances?status=completed" "$T_ALICE"
check "$BODY" "[i['id'] for i in d['items']] == ['$INSTANCE']" "alice finds it among completed instances"

# -- 7. a diagram that tries to run code -----------------------------------------------------------------------

step "a diagram whose condition is __import__('os').system('touch $PWNED') == 0 is refused"
sed -e "s|[\$]{approved}|__import__('os').system('touch $PWNED') == 0|" \
    -e "s/expense_approval/evil_$RAND/g" "$ROOT/examples/two_lane_approval.bpmn" >"$WORK/evil.bpmn"
grep -q "__import__('os').system('touch $PWNED') == 0</bpmn:conditionExpression>" "$WORK/evil.bpmn" ||
    fail "could not build the malicious diagram"
STATUS=$(curl -sS -o "$BODY" -w '%{http_code}' -X POST -H "Authorization: Bearer $T_ADMIN" \
    -H 'Content-Type: application/xml' --data-binary "@$WORK/evil.bpmn" "$BASE/definitions") || fail "curl deploy"
expect 422 "POST /definitions by an admin"
check "$BODY" 'any(p["element_id"] == "Flow_approved" for p in d["error"]["details"]["problems"])' \
    "the problem names the element Flow_approved: $(json "$BODY" 'd["error"]["details"]["problems"][0]["message"][:100]')"
if "$AL" deploy "$WORK/evil.bpmn" >"$WORK/evil.out" 2>&1; then fail "auditloop deploy accepted it"; fi
OUT=$(grep '^error:' "$WORK/evil.out") || fail "auditloop deploy printed no error: $(tail -n 5 "$WORK/evil.out")"
grep -q "Flow_approved" <<<"$OUT" || fail "auditloop deploy did not name Flow_approved: $OUT"
ok "auditloop deploy exits non-zero: ${OUT:0:100}"
http GET /definitions "$T_ADMIN"
check "$BODY" "[x['key'] for x in d] == ['expense_approval']" "nothing was published"
sleep 2 # two scheduler ticks
[[ -e $PWNED ]] && fail "$PWNED exists: the code ran"
ok "$PWNED never appeared"

echo
echo "ACCEPTANCE PASSED ($([[ -n $POSTGRES ]] && echo PostgreSQL || echo SQLite))"
