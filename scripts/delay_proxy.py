#!/usr/bin/env python3
"""A TCP proxy that delays every byte by a fixed time in each direction: the local stand-in for
an inter-region link (this kernel has no netem). Order is kept; throughput is not limited.

    delay_proxy.py --listen PORT --to HOST:PORT --delay-ms 40 [--pidfile FILE] [--record PREFIX]

With --record, every byte crossing the link is appended to PREFIX.out (towards the target) and
PREFIX.back (its answers), so a test can say what crossed between regions.
"""
import argparse
import asyncio
import os
import time


async def pump(reader, writer, delay, record=None):
    queue = asyncio.Queue()

    async def read():
        while True:
            data = await reader.read(65536)
            if record and data:
                with open(record, "ab") as f:
                    f.write(data)
            queue.put_nowait((time.monotonic() + delay, data))
            if not data:
                return

    async def write():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    try:
        await asyncio.gather(read(), write())
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--to", required=True)
    parser.add_argument("--delay-ms", type=float, default=40)
    parser.add_argument("--pidfile")
    parser.add_argument("--record")
    args = parser.parse_args()
    out, back = (args.record + ".out", args.record + ".back") if args.record else (None, None)
    host, port = args.to.rsplit(":", 1)
    delay = args.delay_ms / 1000

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, server_writer, delay, out), pump(server_reader, client_writer, delay, back))

    server = await asyncio.start_server(handle, "127.0.0.1", args.listen)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(str(os.getpid()))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
