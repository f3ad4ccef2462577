"""Two stock interactions.py (discord-py-interactions) bots against a Concord edge; only the
REST base URL changes (it takes the gateway's from GET /gateway/bot). Defaults otherwise.

Usage: python interactions_flow.py EDGE_URL TOKEN OTHER_TOKEN."""
import asyncio

import interactions
from interactions.api.http.route import Route

from steps import Flow, GatewayLog, arguments, check, run_until_done, until

edge, token, other_token = arguments()
Route.BASE = edge + "/api/v10"
bot = interactions.Client(token=token)
watcher = interactions.Client(token=other_token)
seen, watched, typed = [], [], []
resumed, both_ready = asyncio.Event(), [asyncio.Event(), asyncio.Event()]
flow = Flow()
gateway_log = GatewayLog("interactions")


@bot.listen(interactions.events.MessageCreate)
async def on_message(event):
    seen.append(event.message)


@bot.listen(interactions.events.Resume)
async def on_resume(event):
    resumed.set()


@bot.listen(interactions.events.Ready)
async def on_ready(event):
    both_ready[0].set()


@watcher.listen(interactions.events.Ready)
async def on_watcher_ready(event):
    both_ready[1].set()


@watcher.listen(interactions.events.MessageCreate)
async def on_watched(event):
    watched.append(event.message)


@watcher.listen(interactions.events.TypingStart)
async def on_typing(event):
    typed.append((event.channel.id, event.author.id))


async def run_flow():
    for ready in both_ready:
        await asyncio.wait_for(ready.wait(), timeout=30)
    # interactions.py fires ready once no GUILD_CREATE came for 3 s (its guild_event_timeout);
    # on a loaded machine the workspace can land in its cache just after: wait for it, bounded.
    for _ in range(100):
        if bot.guilds and any(c.name == "general" for c in bot.guilds[0].channels):
            break
        await asyncio.sleep(0.1)
    check(len(bot.guilds) >= 1 and any(c.name == "general" for c in bot.guilds[0].channels), "ready with the workspace in its cache")
    channel = next(c for c in bot.guilds[0].channels if c.name == "general")
    check(bot.user is not None and bot.user.bot, "the current user is a bot")
    sent = await channel.send("hello from interactions.py")
    check(sent.content == "hello from interactions.py", "send returns the message")
    check(await until(lambda: any(m.id == sent.id for m in seen)), "the bot receives its own message event")
    check(await until(lambda: any(m.id == sent.id for m in watched)), "a second bot receives the same message")
    # Quiet for longer than the edge keeps an idle socket's compression context (a second in
    # the tests): what comes next is compressed by a new context carrying the same stream on.
    # The watcher posts, so the flow bot's channel window stays as its burst below expects it.
    await asyncio.sleep(2.5)
    quiet = await watcher.get_channel(channel.id).send("after a quiet pause")
    check(await until(lambda: any(m.id == quiet.id for m in seen) and any(m.id == quiet.id for m in watched)),
          "after a quiet pause both bots read on")
    reply = await sent.reply("a reply")
    check(reply.message_reference is not None and reply.message_reference.message_id == sent.id, "reply carries message_reference")
    edited = await reply.edit(content="an edited reply")
    check(edited.content == "an edited reply" and edited.edited_timestamp is not None, "edit")
    ids = [m.id for m in await channel.fetch_messages(limit=10)]
    check(sent.id in ids and reply.id in ids, "history finds both")
    await reply.delete()
    check(reply.id not in [m.id for m in await channel.fetch_messages(limit=10)], "delete")
    await channel.trigger_typing()
    check(await until(lambda: (channel.id, bot.user.id) in typed), "typing")

    # More sends than a channel's 5-second window holds: the library paces them by the
    # X-RateLimit headers (the Swift test checks the edge answered no 429).
    burst = [(await channel.send(f"burst {i}")).id for i in range(7)]
    check(len(set(burst)) == 7, "a burst is paced by the rate-limit headers")

    # Drop the connection as a network failure would (no close frame: the library reconnects and
    # resumes) and post from the other bot while it is away; the resumed session must get that
    # message. Not ws.close(code=4000): with the library's reader waiting, aiohttp sends 1000 first,
    # and a session closed with 1000 is over, on Discord as here.
    bot._connection_state.gateway.ws._conn.transport.abort()
    meanwhile = await watcher.get_channel(channel.id).send("posted while you were away")
    await asyncio.wait_for(resumed.wait(), timeout=20)
    check(True, "the dropped bot resumes its session")
    check(await until(lambda: any(m.id == meanwhile.id for m in seen)), "the resumed bot gets what was posted meanwhile")
    flow.passed = True


async def main():
    starts = [asyncio.create_task(bot.astart()), asyncio.create_task(watcher.astart())]
    try:
        await run_flow()
    except Exception as error:  # report and fail
        print("FAILED:", repr(error), flush=True)
        gateway_log.dump()
    finally:
        for client in (watcher, bot):
            try:
                await asyncio.wait_for(client.stop(), timeout=2)
            except Exception as error:  # a client that does not stop in time is left to exit with the process
                print("stop:", repr(error), flush=True)
        for start in starts:
            start.cancel()


asyncio.run(run_until_done(main()))
flow.exit()
