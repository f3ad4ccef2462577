"""Stock discord.py against a Concord edge. With zstandard installed it asks for zstd-stream,
as it does by default on Python 3.14. Usage: python discordpy_flow.py EDGE_URL TOKEN OTHER_TOKEN."""
import sys

import discord

from discord_family import run
from discordpy_support import point_at
from steps import check

point_at(sys.argv[1])
check(discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE == "zstd-stream", "compression is zstd-stream")
run(discord)
