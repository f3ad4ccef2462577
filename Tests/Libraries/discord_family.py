"""The flow every library descended from discord.py's API runs (disnake, nextcord, py-cord):
two stock bots, only the REST base URL changed (each takes the gateway's URL from
GET /gateway/bot), default intents, compression and json. Each library's own flow file says how
it is pointed at the edge and passes its module here."""
import asyncio
import io

from steps import Flow, GatewayLog, arguments, check, run_until_done, until


def run(library):
    flow = Flow()
    asyncio.run(run_until_done(main(library, flow)))
    flow.exit()


async def main(library, flow):
    """Made inside the running event loop: py-cord and nextcord take the loop that is current
    when a client is made, and schedule the end of a rate-limit wait on it."""
    edge, token, other_token = arguments()
    gateway_log = GatewayLog(f"{library.__name__}.gateway", f"{library.__name__}.client")
    # Each library's default intents (discord.py requires them named; the others default to these).
    client, watcher = library.Client(intents=library.Intents.default()), library.Client(intents=library.Intents.default())
    seen, watched, typed = [], [], []
    resumed, watcher_ready = asyncio.Event(), asyncio.Event()

    @client.event
    async def on_message(message):
        seen.append(message)

    @client.event
    async def on_resumed():
        resumed.set()

    @watcher.event
    async def on_message(message):  # noqa: F811 - the watcher's handler, not the client's
        watched.append(message)

    @watcher.event
    async def on_typing(channel, user, when):
        typed.append((channel.id, user.id))

    @watcher.event
    async def on_ready():
        watcher_ready.set()

    reacted, bulk_deleted = [], []

    @watcher.event
    async def on_raw_reaction_add(payload):
        reacted.append((payload.message_id, str(payload.emoji), payload.user_id))

    @watcher.event
    async def on_raw_reaction_remove(payload):
        reacted.remove((payload.message_id, str(payload.emoji), payload.user_id))

    @watcher.event
    async def on_raw_bulk_message_delete(payload):
        bulk_deleted.extend(payload.message_ids)

    @client.event
    async def on_ready():  # noqa: F811
        try:
            await asyncio.wait_for(watcher_ready.wait(), timeout=20)
            check(len(client.guilds) >= 1 and any(c.name == "general" for c in client.guilds[0].text_channels),
                  "ready with the workspace in its cache")
            guild = client.guilds[0]
            channel = next(c for c in guild.text_channels if c.name == "general")
            check(client.user is not None and client.user.bot, "the current user is a bot")
            sent = await channel.send(f"hello from {library.__name__}")
            check(sent.content == f"hello from {library.__name__}", "send returns the message")
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
            check(reply.reference is not None and reply.reference.message_id == sent.id, "reply carries message_reference")
            edited = await reply.edit(content="an edited reply")
            check(edited.content == "an edited reply" and edited.edited_at is not None, "edit")
            ids = [m.id async for m in channel.history(limit=10)]
            check(sent.id in ids and reply.id in ids, "history finds both")
            await reply.delete()
            check(reply.id not in [m.id async for m in channel.history(limit=10)], "delete")
            async with channel.typing():
                pass
            check(await until(lambda: (channel.id, client.user.id) in typed), "typing")

            await rich_messages(library, channel, sent, client, reacted, bulk_deleted)

            # More sends than a channel's 5-second window holds: the library paces them by the
            # X-RateLimit headers (the Swift test checks the edge answered no 429).
            burst = [(await channel.send(f"burst {i}")).id for i in range(7)]
            check(len(set(burst)) == 7, "a burst is paced by the rate-limit headers")

            # Drop the socket (close code 4000: the library reconnects and resumes) and post from
            # the other bot while it is away; the resumed session must get that message.
            await client.ws.close(4000)
            meanwhile = await watcher.get_channel(channel.id).send("posted while you were away")
            await asyncio.wait_for(resumed.wait(), timeout=20)
            check(True, "the dropped bot resumes its session")
            check(await until(lambda: any(m.id == meanwhile.id for m in seen)), "the resumed bot gets what was posted meanwhile")
            flow.passed = True
        except Exception as error:  # report and fail
            print("FAILED:", repr(error), flush=True)
            gateway_log.dump()
        finally:
            await watcher.close()
            await client.close()

    await asyncio.gather(client.start(token), watcher.start(other_token))


async def rich_messages(library, channel, sent, client, reacted, bulk_deleted):
    """Files, reactions, pins and bulk delete (the bots hold a role with MANAGE_MESSAGES)."""
    data = bytes(range(256)) * 400
    with_file = await channel.send("a file", file=library.File(io.BytesIO(data), filename="data.bin"))
    check([(a.filename, a.size) for a in with_file.attachments] == [("data.bin", len(data))], "a file is uploaded")
    check(await with_file.attachments[0].read() == data, "and downloaded by its URL, byte for byte")

    await sent.add_reaction("👍")
    check(await until(lambda: (sent.id, "👍", client.user.id) in reacted), "a reaction reaches the other bot")
    fetched = await channel.fetch_message(sent.id)
    check([(str(r.emoji), r.count, r.me) for r in fetched.reactions] == [("👍", 1, True)], "the message carries its reactions")
    check([u.id async for u in fetched.reactions[0].users()] == [client.user.id], "who reacted")
    await sent.remove_reaction("👍", client.user)
    check(await until(lambda: (sent.id, "👍", client.user.id) not in reacted), "a reaction is removed")
    await sent.add_reaction("🎉")
    await sent.clear_reactions()
    check(not (await channel.fetch_message(sent.id)).reactions, "reactions are cleared")

    await sent.pin()
    pins = channel.pins()
    pinned = [m async for m in pins] if hasattr(pins, "__aiter__") else await pins
    check([getattr(m, "message", m).id for m in pinned] == [sent.id] and (await channel.fetch_message(sent.id)).pinned, "a message is pinned")
    await sent.unpin()
    check(not (await channel.fetch_message(sent.id)).pinned, "and unpinned")

    doomed = [await channel.send(f"doomed {i}") for i in range(3)]
    await channel.delete_messages(doomed)
    check(await until(lambda: {m.id for m in doomed} <= set(bulk_deleted)), "messages are bulk deleted")
    left = [m.id async for m in channel.history(limit=20)]
    check(not any(m.id in left for m in doomed), "and gone from history")
