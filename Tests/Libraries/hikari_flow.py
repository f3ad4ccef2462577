"""Two stock hikari gateway bots and hikari's REST-only client against a Concord edge; only the
REST URL changes (hikari takes the gateway's from GET /gateway/bot). Defaults otherwise: its
intents, its compression, its json.

Usage: python hikari_flow.py EDGE_URL TOKEN OTHER_TOKEN."""
import asyncio

import hikari

from steps import Flow, GatewayLog, arguments, check, run_until_done, until

edge, token, other_token = arguments()
rest_url = edge + "/api/v10"
bot = hikari.GatewayBot(token, rest_url=rest_url, banner=None, logs="WARNING")
watcher = hikari.GatewayBot(other_token, rest_url=rest_url, banner=None, logs="WARNING")
seen, watched = [], []
resumed = asyncio.Event()
flow = Flow()
gateway_log = GatewayLog("hikari.gateway")


@bot.listen(hikari.GuildMessageCreateEvent)
async def on_message(event):
    seen.append(event.message)


@bot.listen(hikari.ShardResumedEvent)
async def on_resumed(event):
    resumed.set()


@watcher.listen(hikari.GuildMessageCreateEvent)
async def on_watched(event):
    watched.append(event.message)


async def run_flow():
    check(await until(lambda: len(bot.cache.get_guilds_view()) >= 1 and len(watcher.cache.get_guilds_view()) >= 1, 20),
          "ready with the workspace in its cache")
    guild = next(iter(bot.cache.get_guilds_view().values()))
    channels = bot.cache.get_guild_channels_view_for_guild(guild.id).values()
    channel = next(c for c in channels if c.name == "general")
    me = bot.get_me()
    check(me is not None and me.is_bot, "the current user is a bot")

    sent = await bot.rest.create_message(channel.id, "hello from hikari")
    check(sent.content == "hello from hikari", "send returns the message")
    check(await until(lambda: any(m.id == sent.id for m in seen)), "the bot receives its own message event")
    check(await until(lambda: any(m.id == sent.id for m in watched)), "a second bot receives the same message")
    # Quiet for longer than the edge keeps an idle socket's compression context (a second in
    # the tests): what comes next is compressed by a new context carrying the same stream on.
    # The watcher posts, so the flow bot's channel window stays as its burst below expects it.
    await asyncio.sleep(2.5)
    quiet = await watcher.rest.create_message(channel.id, "after a quiet pause")
    check(await until(lambda: any(m.id == quiet.id for m in seen) and any(m.id == quiet.id for m in watched)),
          "after a quiet pause both bots read on")
    reply = await bot.rest.create_message(channel.id, "a reply", reply=sent)
    check(reply.referenced_message is not None and reply.referenced_message.id == sent.id, "reply carries message_reference")
    edited = await bot.rest.edit_message(channel.id, reply, "an edited reply")
    check(edited.content == "an edited reply" and edited.edited_timestamp is not None, "edit")
    history = await bot.rest.fetch_messages(channel.id).limit(10)
    check(sent.id in [m.id for m in history] and reply.id in [m.id for m in history], "history finds both")
    await bot.rest.delete_message(channel.id, reply)
    history = await bot.rest.fetch_messages(channel.id).limit(10)
    check(reply.id not in [m.id for m in history], "delete")
    await bot.rest.trigger_typing(channel.id)
    check(True, "typing")

    # A file (added by an edit: the channel's send window stays as the REST-only client below
    # expects it), a reaction and a pin (the bots hold a role with MANAGE_MESSAGES).
    data = bytes(range(256)) * 400
    with_file = await bot.rest.edit_message(channel.id, sent, attachment=hikari.Bytes(data, "data.bin"))
    check([(a.filename, a.size) for a in with_file.attachments] == [("data.bin", len(data))], "a file is uploaded")
    check(await with_file.attachments[0].read() == data, "and downloaded by its URL, byte for byte")
    await bot.rest.add_reaction(channel.id, sent, "👍")
    fetched = await bot.rest.fetch_message(channel.id, sent)
    check([(str(r.emoji), r.count, r.is_me) for r in fetched.reactions] == [("👍", 1, True)], "the message carries its reactions")
    await bot.rest.pin_message(channel.id, sent)
    pins = [pin async for pin in bot.rest.fetch_pins(channel.id)]
    check([pin.message.id for pin in pins] == [sent.id], "a message is pinned")
    await bot.rest.unpin_message(channel.id, sent)

    # More sends than a channel's 5-second window holds: the library paces them by the
    # X-RateLimit headers (the Swift test checks the edge answered no 429).
    burst = [(await bot.rest.create_message(channel.id, f"burst {i}")).id for i in range(7)]
    check(len(set(burst)) == 7, "a burst is paced by the rate-limit headers")

    # Drop the socket under the shard (as a network fault would) and post from the other bot
    # while it is away: hikari reconnects, resumes, and must get that message.
    shard = next(iter(bot.shards.values()))
    await shard._ws._ws.close(code=4000)
    meanwhile = await watcher.rest.create_message(channel.id, "posted while you were away")
    await asyncio.wait_for(resumed.wait(), timeout=20)
    check(True, "the dropped bot resumes its session")
    check(await until(lambda: any(m.id == meanwhile.id for m in seen)), "the resumed bot gets what was posted meanwhile")

    # hikari's REST-only client, as a bot without a gateway uses it.
    rest = hikari.RESTApp(url=rest_url)
    await rest.start()
    try:
        async with rest.acquire(token, hikari.TokenType.BOT) as client:
            user = await client.fetch_my_user()
            check(user.id == me.id, "the REST-only client fetches the current user")
            fetched = await client.fetch_guild(guild.id)
            check(fetched.name == guild.name and len(fetched.roles) >= 1, "the REST-only client fetches the workspace")
            note = await client.create_message(channel.id, "from the REST-only client")
            check(note.author.id == me.id, "the REST-only client sends")
    finally:
        await rest.close()
    flow.passed = True


async def main():
    await bot.start()
    await watcher.start()
    try:
        await run_flow()
    except Exception as error:  # report and fail
        print("FAILED:", repr(error), flush=True)
        gateway_log.dump()
    finally:
        await watcher.close()
        await bot.close()


asyncio.run(run_until_done(main()))
flow.exit()
