"""What every library's flow bot shares, whatever the library: reporting steps, waiting for a
gateway cache to catch up, and a deadline for the whole flow. Imports no Discord library."""
import asyncio
import logging
import sys
import time


def arguments():
    """EDGE_URL TOKEN OTHER_TOKEN, as the Swift test passes them."""
    if len(sys.argv) != 4:
        sys.exit("usage: FLOW EDGE_URL TOKEN OTHER_TOKEN")
    return sys.argv[1], sys.argv[2], sys.argv[3]


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("ok:", what, flush=True)


async def until(condition, seconds=5.0):
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def run_until_done(*starts, timeout=90):
    """Runs the clients; a flow that has not finished within `timeout` seconds fails. What a
    client raises while it shuts down (py-cord reconnecting into a closed session) is printed;
    whether the flow passed was decided before."""
    try:
        await asyncio.wait_for(asyncio.gather(*starts), timeout=timeout)
    except asyncio.TimeoutError:
        print("FAILED: timed out", flush=True)
    except Exception as error:
        print("while stopping:", repr(error), flush=True)


class Flow:
    """The result of a flow: `passed` once its last step checked; the process exits 1 otherwise."""

    def __init__(self):
        self.passed = False

    def exit(self):
        sys.exit(0 if self.passed else 1)


class GatewayLog(logging.Handler):
    """A library's gateway log at INFO, kept aside and printed only when the flow fails: why a
    resume became a new session (op 9, a refused socket, a close code) is in those lines."""

    def __init__(self, *loggers):
        super().__init__(logging.INFO)
        self.lines = []
        for name in loggers:
            logger = logging.getLogger(name)
            logger.setLevel(logging.INFO)
            logger.addHandler(self)
            logger.propagate = False

    def emit(self, record):
        self.lines.append(f"{time.strftime('%H:%M:%S', time.localtime(record.created))}.{int(record.msecs):03d} {record.name}: {record.getMessage()}")

    def dump(self):
        print("gateway log:", *self.lines[-60:], sep="\n  ", flush=True)
