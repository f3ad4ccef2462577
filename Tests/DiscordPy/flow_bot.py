"""A stock discord.py bot against a Concord edge: only the base URLs change.

Usage: python flow_bot.py EDGE_URL TOKEN. Exits 0 when the whole flow passed, 1 otherwise.
"""
import asyncio
import sys

import discord

edge, token = sys.argv[1], sys.argv[2]
discord.http.Route.BASE = edge + "/api/v10"
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = discord.utils.yarl.URL(edge.replace("http", "ws", 1) + "/gateway/")

intents = discord.Intents.default()
intents.message_content = True
client = discord.Client(intents=intents)
seen = []
result = {"ok": False}


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("ok:", what, flush=True)


@client.event
async def on_message(message):
    seen.append(message)


@client.event
async def on_ready():
    try:
        check(len(client.guilds) >= 1, "on_ready sees a workspace")
        guild = client.guilds[0]
        channel = next(c for c in guild.text_channels if c.name == "general")
        check(channel is not None, "the workspace has #general")
        sent = await channel.send("hello from discord.py")
        check(sent.content == "hello from discord.py", "send returns the message")
        for _ in range(100):
            if any(m.id == sent.id for m in seen):
                break
            await asyncio.sleep(0.05)
        check(any(m.id == sent.id for m in seen), "the bot receives its own MESSAGE_CREATE")
        reply = await sent.reply("a reply")
        check(reply.reference is not None and reply.reference.message_id == sent.id, "reply carries message_reference")
        edited = await reply.edit(content="an edited reply")
        check(edited.content == "an edited reply", "edit")
        history = [m async for m in channel.history(limit=10)]
        ids = [m.id for m in history]
        check(sent.id in ids and reply.id in ids, "channel.history finds both")
        await reply.delete()
        history = [m async for m in channel.history(limit=10)]
        check(reply.id not in [m.id for m in history], "delete")
        result["ok"] = True
    except Exception as error:  # report and fail
        print("FAILED:", repr(error), flush=True)
    finally:
        await client.close()


async def main():
    try:
        await asyncio.wait_for(client.start(token), timeout=60)
    except asyncio.TimeoutError:
        print("FAILED: timed out", flush=True)


asyncio.run(main())
sys.exit(0 if result["ok"] else 1)
