"""A stock discord.py bot that owns a workspace builds roles and a private channel, then prints
what discord.py's own `channel.permissions_for(member)` computes from its gateway cache for
each member and channel. The Swift test compares those with what the server enforces.

Usage: python permissions_bot.py EDGE_URL TOKEN. Prints "perm <user> <channel> <value>" lines
and exits 0 when the flow passed, 1 otherwise.
"""
import asyncio
import sys

import discord

from discordpy_support import point_at
from steps import check, run_until_done, until

edge, token = sys.argv[1], sys.argv[2]
point_at(edge)

intents = discord.Intents.default()
intents.members = True  # GUILD_MEMBER_UPDATE keeps members' roles in the cache
client = discord.Client(intents=intents)
result = {"ok": False}


@client.event
async def on_ready():
    try:
        guild = client.guilds[0]
        check(guild.owner_id == client.user.id, "the bot owns the workspace")
        alice = next(m for m in guild.members if m.name == "alice")
        bob = next(m for m in guild.members if m.name == "bob")
        general = next(c for c in guild.text_channels if c.name == "general")

        staff = await guild.create_role(name="staff", permissions=discord.Permissions(manage_messages=True, mention_everyone=True),
                                        colour=discord.Colour(0x3498DB), hoist=True)
        check(await until(lambda: guild.get_role(staff.id) is not None, 10), "create_role; GUILD_ROLE_CREATE reaches the cache")
        await alice.add_roles(staff)
        check(await until(lambda: staff in guild.get_member(alice.id).roles, 10), "add_roles; GUILD_MEMBER_UPDATE reaches the cache")

        private = await guild.create_text_channel("private", overwrites={
            guild.default_role: discord.PermissionOverwrite(view_channel=False),
            staff: discord.PermissionOverwrite(view_channel=True),
        })
        check(await until(lambda: guild.get_channel(private.id) is not None, 10), "create_text_channel with overwrites")
        # Bob may read the private channel but not write there; in #general nobody mentions everyone but staff.
        await private.set_permissions(bob, view_channel=True, send_messages=False)
        await general.set_permissions(guild.default_role, mention_everyone=False, read_message_history=True)
        check(await until(lambda: len(guild.get_channel(private.id).overwrites) == 3, 10), "set_permissions; CHANNEL_UPDATE reaches the cache")
        check(await until(lambda: len(guild.get_channel(general.id).overwrites) == 1, 10), "an @everyone overwrite on #general")

        announcements = await guild.create_text_channel("announcements", overwrites={
            guild.default_role: discord.PermissionOverwrite(send_messages=False),
            staff: discord.PermissionOverwrite(send_messages=True),
        })
        check(await until(lambda: guild.get_channel(announcements.id) is not None, 10), "a read-only channel for all but staff")

        for member in (guild.get_member(alice.id), guild.get_member(bob.id), guild.me):
            for channel in (guild.get_channel(general.id), guild.get_channel(private.id), guild.get_channel(announcements.id)):
                print("perm", member.id, channel.id, channel.permissions_for(member).value, flush=True)
        result["ok"] = True
    except Exception as error:  # report and fail
        print("FAILED:", repr(error), flush=True)
    finally:
        await client.close()


asyncio.run(run_until_done(client.start(token)))
sys.exit(0 if result["ok"] else 1)
