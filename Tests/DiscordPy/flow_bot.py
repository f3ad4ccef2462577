"""Two stock discord.py bots against a Concord edge: only the base URLs change.

Usage: python flow_bot.py EDGE_URL TOKEN OTHER_TOKEN. Exits 0 when the whole flow passed,
1 otherwise. The first bot runs the flow; the second watches the same channel.
"""
import asyncio
import sys

import discord

from support import check, point_at, run_until_done, until

edge, token, other_token = sys.argv[1], sys.argv[2], sys.argv[3]
point_at(edge)
print("compression:", discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE, flush=True)

intents = discord.Intents.default()
intents.message_content = True
client = discord.Client(intents=intents)
watcher = discord.Client(intents=intents)
seen, watched = [], []
resumed = asyncio.Event()
watcher_ready = asyncio.Event()
result = {"ok": False}


@client.event
async def on_message(message):
    seen.append(message)


@client.event
async def on_resumed():
    resumed.set()


@watcher.event
async def on_message(message):
    watched.append(message)


@watcher.event
async def on_ready():
    watcher_ready.set()


@client.event
async def on_ready():
    try:
        await asyncio.wait_for(watcher_ready.wait(), timeout=20)
        check(len(client.guilds) >= 1, "on_ready sees a workspace")
        guild = client.guilds[0]
        channel = next(c for c in guild.text_channels if c.name == "general")
        check(channel is not None, "the workspace has #general")
        sent = await channel.send("hello from discord.py")
        check(sent.content == "hello from discord.py", "send returns the message")
        check(await until(lambda: any(m.id == sent.id for m in seen)), "the bot receives its own MESSAGE_CREATE")
        check(await until(lambda: any(m.id == sent.id and m.content == sent.content for m in watched)),
              "a second bot receives the same MESSAGE_CREATE")
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

        # Drop the socket (close code 4000: discord.py reconnects and resumes) and post from the
        # other bot while it is away; the resumed session must get that message.
        await client.ws.close(4000)
        meanwhile = await watcher.get_channel(channel.id).send("posted while you were away")
        await asyncio.wait_for(resumed.wait(), timeout=20)
        check(True, "the dropped bot resumes its session")
        check(await until(lambda: any(m.id == meanwhile.id for m in seen)), "the resumed bot gets what was posted meanwhile")
        result["ok"] = True
    except Exception as error:  # report and fail
        print("FAILED:", repr(error), flush=True)
    finally:
        await watcher.close()
        await client.close()


asyncio.run(run_until_done(client.start(token), watcher.start(other_token)))
sys.exit(0 if result["ok"] else 1)
