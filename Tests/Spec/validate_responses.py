"""Checks REST answers against Discord's official OpenAPI spec.

Usage: python validate_responses.py SPEC RESPONSES_JSONL [--strict]

Each line of RESPONSES_JSONL is one answer the tests received ({method, path, status, body}, the
path under /api/v10, with its query). Each is matched to the spec's operation (the template with
the most literal segments wins, as /users/@me over /users/{user_id}), and its body validated
against the schema the spec gives for that status. Prints how many answers validate, per
operation, and the distinct failures. Exits 1 with --strict when any answer does not validate.
"""
import collections
import json
import re
import sys

from spec_schemas import Spec

spec_path, responses_path = sys.argv[1], sys.argv[2]
strict = "--strict" in sys.argv[3:]
spec = Spec(spec_path)

checked = collections.Counter()
passed = collections.Counter()
failures = collections.defaultdict(collections.Counter)
unmatched = collections.Counter()
# Answers the spec says nothing about: a status it does not declare for the operation (503 while
# a cell is down), or a refusal by the HTTP layer before any API code ran (a request line past
# the parser's limit: 400 without a body).
undeclared = collections.Counter()
for line in open(responses_path):
    record = json.loads(line)
    path = record["path"].split("?")[0]
    template, op = spec.operation(record["method"], path)
    if op is None:
        unmatched[f'{record["method"]} {path}'] += 1
        continue
    key = f'{record["method"]} {template} {record["status"]}'
    if spec.declared(op, record["status"]) is None:
        undeclared[f"{key} (a status the spec does not declare)"] += 1
        continue
    if record["body"] is None and record["status"] == 400:
        undeclared[f"{key} (refused by the HTTP layer, no body)"] += 1
        continue
    if record["status"] == 204:
        checked[key] += 1
        passed[key] += 1
        continue
    schema = spec.schema_for(op, record["status"])
    if schema is None:
        failures[key]["the spec has no JSON answer for this status"] += 1
        checked[key] += 1
        continue
    checked[key] += 1
    errors = sorted(spec.validator(schema).iter_errors(record["body"]), key=lambda e: list(e.absolute_path))
    if not errors:
        passed[key] += 1
    for error in errors[:3]:
        failures[key][Spec.describe(error)] += 1

total, ok = sum(checked.values()), sum(passed.values())
print(f"spec check: {ok} of {total} answers validate against Discord's OpenAPI spec ({len(checked)} operation/status pairs)")
for key in sorted(checked):
    mark = "ok " if passed[key] == checked[key] else "BAD"
    print(f"  {mark} {key}: {passed[key]}/{checked[key]}")
    for message, count in failures[key].most_common(6):
        print(f"        {count} x {message}")
if undeclared:
    print(f"not checked (the spec has nothing to say): {sum(undeclared.values())} answers")
    for key, count in undeclared.most_common(10):
        print(f"  {count} x {key}")
if unmatched:
    print(f"not in the spec (Concord's additions or wrong paths): {sum(unmatched.values())} answers")
    for key, count in unmatched.most_common(10):
        print(f"  {count} x {re.sub(r'[0-9]{6,}', '<id>', key)}")
sys.exit(1 if strict and ok < total else 0)
