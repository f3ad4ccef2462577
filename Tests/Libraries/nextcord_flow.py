"""Stock nextcord against a Concord edge. Usage: python nextcord_flow.py EDGE_URL TOKEN OTHER_TOKEN."""
import sys

import nextcord

from discord_family import run

nextcord.http.Route.BASE = sys.argv[1] + "/api/v10"
run(nextcord)
