"""What the discord.py bots share: pointing the stock library at a Concord edge (only its base
URLs change), reporting steps, and waiting for the gateway cache to catch up."""
import asyncio

import discord


def point_at(edge):
    discord.http.Route.BASE = edge + "/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = discord.utils.yarl.URL(edge.replace("http", "ws", 1) + "/gateway/")


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("ok:", what, flush=True)


async def until(condition, seconds=5.0):
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def run_until_done(*starts, timeout=90):
    """Runs the clients; a flow that has not finished within `timeout` seconds fails."""
    try:
        await asyncio.wait_for(asyncio.gather(*starts), timeout=timeout)
    except asyncio.TimeoutError:
        print("FAILED: timed out", flush=True)
