"""Checks gateway dispatches against the schemas Discord's OpenAPI spec gives the same objects
in REST answers: READY's user is the current user (GET /users/@me), GUILD_CREATE the guild
(GET /guilds/{id}) with each of its channels and members as GET /channels/{id} and
GET /guilds/{id}/members/{user} answer them, MESSAGE_CREATE/UPDATE a message, CHANNEL_* a
channel, GUILD_ROLE_* a role, GUILD_MEMBER_ADD a member.

Usage: python validate_events.py SPEC EVENTS_JSONL [--strict]. Each line is one dispatch
({"t":…, "d":…}) a test's gateway client received. Exits 1 with --strict when one does not validate.
"""
import json
import sys

from spec_schemas import Spec, Tally

spec_path, events_path = sys.argv[1], sys.argv[2]
strict = "--strict" in sys.argv[3:]
spec = Spec(spec_path)
user = spec.validator(spec.answer_schema("GET", "/users/@me"))
guild = spec.validator(spec.answer_schema("GET", "/guilds/{guild_id}"))
channel = spec.validator(spec.answer_schema("GET", "/channels/{channel_id}"))
member = spec.validator(spec.answer_schema("GET", "/guilds/{guild_id}/members/{user_id}"))
message = spec.validator(spec.answer_schema("POST", "/channels/{channel_id}/messages"))
role = spec.validator(spec.answer_schema("GET", "/guilds/{guild_id}/roles/{role_id}"))


def parts(event, d):
    """The (what, validator, object) pairs an event carries."""
    if event == "READY":
        return [("user", user, d.get("user"))]
    if event in ("GUILD_CREATE", "GUILD_UPDATE"):
        if d.get("unavailable"):
            return []
        found = [("guild", guild, d)]
        found += [("channels[]", channel, c) for c in d.get("channels", [])]
        found += [("members[]", member, m) for m in d.get("members", [])]
        return found
    if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
        return [("message", message, d)]
    if event in ("CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE"):
        return [("channel", channel, d)]
    if event in ("GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE"):
        return [("role", role, d.get("role"))]
    if event == "GUILD_MEMBER_ADD":
        return [("member", member, d)]
    return None


tally = Tally()
for line in open(events_path):
    record = json.loads(line)
    event, d = record.get("t"), record.get("d")
    found = parts(event, d) if isinstance(d, dict) else None
    if found is None:
        tally.set_aside("events whose payload the spec has no schema for", event)
        continue
    tally.add(event, [f"{what} {Spec.describe(error)}" for what, validator, value in found for error in validator.iter_errors(value)])

valid = tally.report("gateway check: {ok} of {total} dispatches carry objects that validate against Discord's OpenAPI spec")
sys.exit(1 if strict and not valid else 0)
