"""Checks REST answers against Discord's official OpenAPI spec.

Usage: python validate_responses.py SPEC RESPONSES_JSONL [--strict]

Each line of RESPONSES_JSONL is one answer the tests received ({method, path, status, body}, the
path under /api/v10, with its query). Each is matched to the spec's operation (the template with
the most literal segments wins, as /users/@me over /users/{user_id}), and its body validated
against the schema the spec gives for that status. Prints how many answers validate, per
operation, and the distinct failures. Exits 1 with --strict when any answer does not validate.
"""
import json
import re
import sys

from spec_schemas import Spec, Tally

spec_path, responses_path = sys.argv[1], sys.argv[2]
strict = "--strict" in sys.argv[3:]
spec = Spec(spec_path)

tally = Tally()
for line in open(responses_path):
    record = json.loads(line)
    path = record["path"].split("?")[0]
    template, op = spec.operation(record["method"], path)
    if op is None:
        tally.set_aside("not in the spec (Concord's additions or wrong paths)", f'{record["method"]} {re.sub(r"[0-9]{6,}", "<id>", path)}')
        continue
    key = f'{record["method"]} {template} {record["status"]}'
    # Answers the spec says nothing about: a status it does not declare for the operation (503
    # while a cell is down), or a refusal by the HTTP layer before any API code ran (a request
    # line past the parser's limit: 400 without a body).
    if spec.declared(op, record["status"]) is None:
        tally.set_aside("not checked (the spec has nothing to say)", f"{key} (a status the spec does not declare)")
        continue
    if record["body"] is None and record["status"] == 400:
        tally.set_aside("not checked (the spec has nothing to say)", f"{key} (refused by the HTTP layer, no body)")
        continue
    if record["status"] == 204:
        tally.add(key, [])
        continue
    schema = spec.schema_for(op, record["status"])
    if schema is None:
        tally.add(key, ["the spec has no JSON answer for this status"])
        continue
    errors = sorted(spec.validator(schema).iter_errors(record["body"]), key=lambda e: list(e.absolute_path))
    tally.add(key, [Spec.describe(error) for error in errors])

valid = tally.report("spec check: {ok} of {total} answers validate against Discord's OpenAPI spec ({keys} operation/status pairs)")
sys.exit(1 if strict and not valid else 0)
