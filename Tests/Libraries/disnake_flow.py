"""Stock disnake against a Concord edge. Usage: python disnake_flow.py EDGE_URL TOKEN OTHER_TOKEN."""
import sys

import disnake

from discord_family import run

disnake.http.Route.BASE = sys.argv[1] + "/api/v10"
run(disnake)
