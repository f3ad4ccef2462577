"""Pointing stock discord.py at a Concord edge: its REST base and its gateway URL (discord.py
connects to a fixed gateway address rather than asking GET /gateway) are all that change."""
import discord


def point_at(edge):
    discord.http.Route.BASE = edge + "/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = discord.utils.yarl.URL(edge.replace("http", "ws", 1) + "/gateway/")
