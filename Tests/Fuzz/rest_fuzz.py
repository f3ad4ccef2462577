"""REST fuzzing driven by Discord's official OpenAPI spec (schemathesis, stock from PyPI).

Run by `make test` (RESTFuzzTests) against a live edge and cell, restricted to the operations
Concord serves, with a real token and real ids: valid and invalid (negative) inputs, NUL bytes
allowed. Every answer must be below 500, in Discord's error shape when it is an error, and come
within the timeout.

    python rest_fuzz.py SPEC BASE_URL AUTHORIZATION IDS_JSON [MAX_EXAMPLES]
"""
import json
import os
import random
import sys

import pytest

SERVED = {
    ("GET", "/users/@me"), ("GET", "/users/@me/guilds"), ("GET", "/users/{user_id}"), ("POST", "/users/@me/channels"),
    ("GET", "/oauth2/applications/@me"), ("GET", "/applications/@me"), ("GET", "/gateway"), ("GET", "/gateway/bot"),
    ("GET", "/guilds/{guild_id}"), ("PATCH", "/guilds/{guild_id}"),
    ("GET", "/guilds/{guild_id}/channels"), ("POST", "/guilds/{guild_id}/channels"),
    ("GET", "/guilds/{guild_id}/members"), ("GET", "/guilds/{guild_id}/members/{user_id}"),
    ("GET", "/channels/{channel_id}"), ("PATCH", "/channels/{channel_id}"), ("DELETE", "/channels/{channel_id}"),
    ("POST", "/channels/{channel_id}/invites"), ("GET", "/invites/{code}"),
    ("GET", "/channels/{channel_id}/messages"), ("POST", "/channels/{channel_id}/messages"),
    ("GET", "/channels/{channel_id}/messages/{message_id}"), ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
    ("DELETE", "/channels/{channel_id}/messages/{message_id}"), ("POST", "/channels/{channel_id}/typing"),
    ("GET", "/guilds/{guild_id}/roles"), ("POST", "/guilds/{guild_id}/roles"), ("PATCH", "/guilds/{guild_id}/roles"),
    ("GET", "/guilds/{guild_id}/roles/{role_id}"), ("PATCH", "/guilds/{guild_id}/roles/{role_id}"), ("DELETE", "/guilds/{guild_id}/roles/{role_id}"),
    ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"), ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"),
    ("PATCH", "/guilds/{guild_id}/members/{user_id}"), ("PATCH", "/guilds/{guild_id}/members/@me"), ("DELETE", "/guilds/{guild_id}/members/{user_id}"),
    ("GET", "/guilds/{guild_id}/bans"), ("GET", "/guilds/{guild_id}/bans/{user_id}"), ("PUT", "/guilds/{guild_id}/bans/{user_id}"),
    ("DELETE", "/guilds/{guild_id}/bans/{user_id}"), ("POST", "/guilds/{guild_id}/bulk-ban"), ("GET", "/guilds/{guild_id}/audit-logs"),
    ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}"), ("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}"),
    ("DELETE", "/users/@me/guilds/{guild_id}"),
}


def make_tests(spec, base_url, authorization, ids, max_examples):
    import schemathesis
    from hypothesis import HealthCheck, settings
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_path(spec)
    schema.config.update(base_url=base_url, headers={"Authorization": authorization}, request_timeout=10)
    schema.config.phases.update(phases=["examples", "fuzzing"])
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=max_examples,
                                    allow_x00=True, deterministic=True)
    schema = schema.include(func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in SERVED)
    rng = random.Random(1234)

    @schema.hook
    def map_path_parameters(ctx, path_parameters):
        # Real ids most of the time, so requests get past "unknown channel" to the handlers;
        # deleting the channel is aimed at a channel kept for it.
        if path_parameters is None:
            return path_parameters
        for name in list(path_parameters):
            if rng.random() < 0.8 and name in ids:
                value = ids[name]
                if name == "channel_id" and ctx.operation.method.upper() == "DELETE" and ctx.operation.path == "/channels/{channel_id}":
                    value = ids["doomed_channel_id"]
                path_parameters[name] = value
        return path_parameters

    @schema.parametrize()
    @settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=max_examples)
    def test_no_server_error_and_discord_shaped_errors(case):
        response = case.call(timeout=10)
        where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]!r}"
        assert response.status_code < 500, where
        if response.status_code >= 400:
            body = response.json()
            assert isinstance(body.get("code"), int) and isinstance(body.get("message"), str), where

    return test_no_server_error_and_discord_shaped_errors


if __name__ == "__main__":
    # pytest imports this file again as a test module, which reads the arguments from here.
    os.environ["CONCORD_FUZZ_ARGS"] = json.dumps(sys.argv[1:])
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "--tb=short", __file__]))
elif "CONCORD_FUZZ_ARGS" in os.environ:
    _args = json.loads(os.environ["CONCORD_FUZZ_ARGS"])
    test_rest = make_tests(_args[0], _args[1], _args[2], json.loads(_args[3]), int(_args[4]) if len(_args) > 4 else 20)
