"""Stock py-cord (module `discord`) against a Concord edge.
Usage: python pycord_flow.py EDGE_URL TOKEN OTHER_TOKEN."""
import sys

import discord

from discord_family import run

discord.http.Route.API_BASE_URL = sys.argv[1] + "/api/v10"
run(discord)
