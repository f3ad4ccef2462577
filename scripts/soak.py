#!/usr/bin/env python3
"""`make soak`'s load, chaos and invariant checker, against a cluster scripts/soak.sh started.

Load: writers send (with enforce_nonce, retried with the same nonce until acknowledged), edit
and delete their own messages; readers page through history; gateway sessions follow every
channel, resume when their socket drops, and some leave and are replaced as the run goes on.
A workspace moves to the other cell, and a tier run archives an old history, while it runs.

Chaos: every --chaos-seconds one of: kill -9 of a random edge, cell or relay (their
supervisors start them again), a Redis restart, a PostgreSQL restart.

At the end, after the load has stopped and deliveries have settled, the invariants:
- every acknowledged message is in its channel's history exactly once (deleted ones absent,
  the last acknowledged edit's content kept);
- every session that stayed connected or resumed got every message acknowledged while it was
  live exactly once, each writer's messages in the order they were sent;
- the shared channel's replica reads as its home;
- no process's memory grows after warm-up; no request hung.
Prints the figures; exits 1 when an invariant fails.
"""
import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time

import aiohttp

GUILDS, GUILD_MESSAGES, MESSAGE_CONTENT = 1, 1 << 9, 1 << 15
REQUEST_TIMEOUT = 30


def now():
    return time.monotonic()


class Stats:
    def __init__(self):
        self.counts = {}
        self.latencies = []
        self.hung = []
        self.errors = {}

    def add(self, key, n=1):
        self.counts[key] = self.counts.get(key, 0) + n

    def error(self, what):
        self.errors[what] = self.errors.get(what, 0) + 1


class Cluster:
    """The soak cluster: its config, binaries, secrets, and the processes to hurt."""

    def __init__(self, args):
        self.args = args
        with open(args.config) as f:
            self.config = json.load(f)
        self.edges = [e["public_url"] for e in self.config["edges"]]
        self.cells = self.config["cells"]
        self.env = dict(os.environ)
        with open(os.path.join(args.var, "secrets.env")) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    self.env[k] = v
        self.env["CONCORD_CONFIG"] = args.config

    def ctl(self, *arguments, timeout=600):
        result = subprocess.run([os.path.join(self.args.bin, "concordctl"), *arguments, "--config", self.args.config],
                                env=self.env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"concordctl {' '.join(arguments)}: {result.stdout}{result.stderr}")
        return result.stdout

    def supervised(self):
        """{name: pid of the running process} for cells, edges and relays."""
        pids = {}
        folder = os.path.join(self.args.var, "pids")
        for file in os.listdir(folder):
            if not file.endswith(".pid") or file.startswith("link-"):
                continue
            with open(os.path.join(folder, file)) as f:
                supervisor = f.read().strip()
            children = subprocess.run(["pgrep", "-P", supervisor], capture_output=True, text=True).stdout.split()
            if children:
                pids[file[:-4]] = int(children[0])
        return pids

    def services(self, action, cell):
        name = cell["name"]
        data = os.path.join(self.args.data, name)
        script = {
            "redis": f'stop_redis "{data}/redis" && start_redis "{data}/redis" {cell["redis"]["port"]} aof "$CONCORD_REDIS_PASSWORD"',
            "postgres": f'stop_postgres "{data}/pg" && start_postgres "{data}/pg" {cell["postgres"]["port"]} "$CONCORD_PG_ADMIN_PASSWORD" durable',
        }[action]
        subprocess.run(["bash", "-c", f". scripts/services.sh; {script}"], env=self.env, check=True, timeout=120,
                       stdout=subprocess.DEVNULL)


class API:
    def __init__(self, http, base, token, stats):
        self.http, self.base, self.token, self.stats = http, base, token, stats

    async def call(self, method, path, body=None, what=None):
        """One request: (status, json or None); a timeout counts as a hung request."""
        headers = {"Authorization": self.token} if self.token else {}
        started = now()
        try:
            async with self.http.request(method, self.base + "/api/v10" + path, json=body, headers=headers,
                                         timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as reply:
                text = await reply.text()
                data = json.loads(text) if text and reply.content_type == "application/json" else None
                return reply.status, data
        except asyncio.TimeoutError:
            self.stats.hung.append(f"{method} {path} (no answer in {REQUEST_TIMEOUT} s)")
            return None, None
        except aiohttp.ClientError as error:
            self.stats.error(f"{what or method}: {type(error).__name__}")
            return None, None
        finally:
            if what == "send":
                self.stats.latencies.append(now() - started)


class Ledger:
    """What clients were told: acknowledged messages, their last acknowledged content, and
    the ones whose fate a lost answer left uncertain."""

    def __init__(self):
        self.messages = {}  # id -> dict(channel, content, writer, seq, sent, acked, deleted, uncertain)

    def acknowledged(self, mid, **fields):
        if mid in self.messages:  # the same nonce answered twice: the first message
            return False
        self.messages[mid] = dict(fields, deleted=False, uncertain=False)
        return True


class Session:
    """A gateway session followed for the whole run: every dispatch it got, and whether it
    stayed continuous (connected or resumed) from READY until it was ended."""

    def __init__(self, soak, user, edge):
        self.soak, self.user, self.edge = soak, user, edge
        self.received = []  # (guild, channel, id, content)
        self.ready_at = None
        self.ended_at = None
        self.broken = False
        self.resumes = 0
        self.stop = asyncio.Event()
        self.session_id = None
        self.seq = None
        self.resume_url = None

    async def run(self):
        url = self.soak.cluster.edges[self.edge].replace("http://", "ws://") + "/gateway?v=10&encoding=json"
        first = True
        while not self.stop.is_set() and not self.broken:
            target = url if first or not self.resume_url else self.resume_url.rstrip("/") + "/?v=10&encoding=json"
            try:
                await self.connect(target, resume=not first)
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
                pass
            first = False
            if self.stop.is_set() or self.broken:
                break
            await asyncio.sleep(random.uniform(0.5, 2))
        self.ended_at = now()
        # A session that could not be resumed (its edge was killed) is checked up to there;
        # its person comes back with a new one, as a client would.
        if self.broken and not self.soak.stopping.is_set():
            self.soak.start_session(self.user, self.edge)

    async def connect(self, url, resume):
        async with self.soak.http.ws_connect(url, heartbeat=None, max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
            hello = await asyncio.wait_for(ws.receive_json(), 15)
            interval = hello["d"]["heartbeat_interval"] / 1000
            if resume:
                await ws.send_json({"op": 6, "d": {"token": self.user["token"], "session_id": self.session_id, "seq": self.seq}})
            else:
                await ws.send_json({"op": 2, "d": {"token": self.user["token"], "intents": GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT,
                                                   "properties": {"os": "linux", "browser": "soak", "device": "soak"}}})
            acked = asyncio.Event()
            acked.set()

            async def beat():
                while True:
                    await asyncio.sleep(interval * random.uniform(0.5, 0.9))
                    if not acked.is_set():  # a zombie connection: drop it and resume
                        self.soak.stats.add("zombie connections")
                        await ws.close()
                        return
                    acked.clear()
                    await ws.send_json({"op": 1, "d": self.seq})

            beating = asyncio.create_task(beat())
            stopping = asyncio.create_task(self.stop.wait())
            try:
                while True:
                    receiving = asyncio.create_task(ws.receive())
                    done, _ = await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if stopping in done:
                        receiving.cancel()
                        return
                    message = receiving.result()
                    if message.type != aiohttp.WSMsgType.TEXT:
                        if resume is False and self.session_id is None:
                            self.soak.stats.add("identify refused")
                        return
                    frame = json.loads(message.data)
                    op = frame["op"]
                    if op == 11:
                        acked.set()
                    elif op == 1:
                        await ws.send_json({"op": 1, "d": self.seq})
                    elif op == 9:
                        # The session could not be resumed: its continuity ends here.
                        self.soak.stats.add("sessions not resumable")
                        self.broken = True
                        return
                    elif op == 7:
                        return
                    elif op == 0:
                        if frame.get("s") is not None:
                            self.seq = frame["s"]
                        self.dispatch(frame["t"], frame["d"])
            finally:
                beating.cancel()
                stopping.cancel()

    def dispatch(self, kind, data):
        if kind == "READY":
            self.session_id = data["session_id"]
            self.resume_url = data.get("resume_gateway_url")
            self.ready_at = now()
            self.soak.stats.add("sessions identified")
        elif kind == "RESUMED":
            self.resumes += 1
            self.soak.stats.add("sessions resumed")
        elif kind == "MESSAGE_CREATE":
            self.received.append((data.get("guild_id"), data["channel_id"], data["id"], data.get("content")))


class Soak:
    def __init__(self, args):
        self.args = args
        self.cluster = Cluster(args)
        self.stats = Stats()
        self.ledger = Ledger()
        self.sessions = []
        self.stopping = asyncio.Event()
        self.chaos_paused = asyncio.Lock()
        self.memory = {}  # name -> [(time, pid, rss kB)]
        self.events = []

    def log(self, text):
        line = f"[{time.strftime('%H:%M:%S')} +{max(0.0, now() - getattr(self, 'started', now())):.0f} s] {text}"
        self.events.append(line)
        print(line, flush=True)

    # Setup: people, workspaces in both cells, a channel shared across, an old history.

    async def setup(self):
        anonymous = [API(self.http, edge, None, self.stats) for edge in self.cluster.edges]
        self.users = []
        tag = str(random.randrange(10**6))
        for i in range(8):
            edge = i % 2
            status, data = await anonymous[edge].call("POST", "/auth/register", {"username": f"soak{tag}u{i}", "password": "a soak password 123"})
            assert status == 201, f"register: {status} {data}"
            self.users.append({"id": data["user_id"], "token": data["token"], "edge": edge, "api": API(self.http, self.cluster.edges[edge], data["token"], self.stats)})
        a, b = self.users[0], self.users[1]
        self.a_only, self.b_only = self.users[6], self.users[7]
        status, home = await a["api"].call("POST", "/guilds", {"name": "Soak A"})
        assert status in (200, 201), home
        status, away = await b["api"].call("POST", "/guilds", {"name": "Soak B"})
        status, moving = await a["api"].call("POST", "/guilds", {"name": "Soak moving"})
        self.guilds = {"A": home["id"], "B": away["id"], "C": moving["id"]}
        channels = {"A": [home["system_channel_id"]], "B": [away["system_channel_id"]], "C": [moving["system_channel_id"]]}
        for name, owner in (("shared", a), ("archive", a)):
            status, channel = await owner["api"].call("POST", f"/guilds/{home['id']}/channels", {"name": name})
            channels["A"].append(channel["id"])
        self.shared, self.archive = channels["A"][1], channels["A"][2]
        invites = {}
        for key, owner in (("A", a), ("B", b), ("C", a)):
            status, invite = await owner["api"].call("POST", f"/channels/{channels[key][0]}/invites", {"max_age": 0})
            invites[key] = invite["code"]
        for i, user in enumerate(self.users):
            for key in ("A", "B", "C"):
                if (user is self.a_only and key != "A") or (user is self.b_only and key != "B"):
                    continue
                if (key in ("A", "C") and user is a) or (key == "B" and user is b):
                    continue
                status, _ = await user["api"].call("POST", f"/invites/{invites[key]}")
                assert status == 200, f"join {key}: {status}"
        self.cluster.ctl("channel", "share", self.shared, "--into", away["id"])
        # Where each channel's messages appear: the shared channel in both A and B.
        self.appearances = {c: [self.guilds[k]] for k in channels for c in channels[k]}
        self.appearances[self.shared] = [self.guilds["A"], self.guilds["B"]]
        self.channels = channels
        self.membership = {}
        for user in self.users:
            self.membership[user["id"]] = {self.guilds[k] for k in ("A", "B", "C")}
        self.membership[self.a_only["id"]] = {self.guilds["A"]}
        self.membership[self.b_only["id"]] = {self.guilds["B"]}
        seeded = self.cluster.ctl("bench", "seed-history", "--cell", self.cells_by_id(1)["name"], "--channel", self.archive,
                                  "--author", a["id"], "--count", "3000", "--days", "60")
        self.log(f"set up: 8 people, workspaces A and C in cell 1, B in cell 2, {self.shared} shared A→B, 3,000 old messages in {self.archive} ({seeded.strip()})")

    def cells_by_id(self, cell_id):
        return next(c for c in self.cluster.cells if c["id"] == cell_id)

    # Load.

    async def writer(self, index, user, channel):
        api = user["api"]
        mine = []
        seq = 0
        while not self.stopping.is_set():
            await asyncio.sleep(random.expovariate(self.args.rate / self.args.writers))
            roll = random.random()
            if roll < 0.08 and mine:
                await self.edit(api, channel, random.choice(mine[-20:]))
                continue
            if roll < 0.12 and mine:
                victim = mine.pop(random.randrange(max(0, len(mine) - 20), len(mine)))
                await self.delete(api, channel, victim)
                continue
            seq += 1
            content = f"w{index} {seq}"
            nonce = f"w{index}-{seq}-{random.randrange(10**6)}"
            sent = now()
            for attempt in range(40):
                status, data = await api.call("POST", f"/channels/{channel}/messages",
                                              {"content": content, "nonce": nonce, "enforce_nonce": True}, what="send")
                if status == 200:
                    if self.ledger.acknowledged(data["id"], channel=channel, content=content, writer=index, seq=seq, sent=sent, acked=now()):
                        mine.append(data["id"])
                        self.stats.add("messages acknowledged")
                    break
                if status == 429:
                    await asyncio.sleep(float((data or {}).get("retry_after", 1)))
                else:
                    self.stats.add("send retries")
                    if status is not None:
                        self.stats.error(f"send answered {status}")
                    await asyncio.sleep(min(5, 0.2 * 2 ** attempt))
            else:
                self.stats.add("sends never acknowledged")

    async def edit(self, api, channel, mid):
        record = self.ledger.messages[mid]
        content = record["content"].split(" edited")[0] + f" edited {random.randrange(10**6)}"
        status, data = await api.call("PATCH", f"/channels/{channel}/messages/{mid}", {"content": content}, what="edit")
        if status == 200:
            record["content"] = content
            self.stats.add("edits acknowledged")
        elif status is None or status >= 500:
            record["uncertain"] = True  # the edit may or may not have happened
            self.stats.add("edits unanswered")

    async def delete(self, api, channel, mid):
        record = self.ledger.messages[mid]
        status, _ = await api.call("DELETE", f"/channels/{channel}/messages/{mid}", what="delete")
        if status == 204:
            record["deleted"] = True
            self.stats.add("deletes acknowledged")
        elif status is None or status >= 500:
            record["uncertain"] = True
            self.stats.add("deletes unanswered")

    async def reader(self, user):
        channels = [c for k in ("A", "B", "C") for c in self.channels[k] if self.guilds[k] in self.membership[user["id"]]]
        while not self.stopping.is_set():
            await asyncio.sleep(random.uniform(0.2, 1.0))
            channel = random.choice(channels)
            query = random.choice(["limit=50", "limit=100", f"limit=25&before={random.choice(list(self.ledger.messages) or ['0'])}"])
            status, _ = await user["api"].call("GET", f"/channels/{channel}/messages?{query}", what="read")
            self.stats.add("history pages read" if status == 200 else "history reads failed")

    async def session_churn(self):
        """Sessions join and leave: every minute one ends and a new one starts."""
        for i in range(6):
            self.start_session(self.users[i % 6], i % 2)
        while not self.stopping.is_set():
            await self.sleep(60)
            if self.stopping.is_set():
                break
            live = [s for s in self.sessions if s.ended_at is None and not s.stop.is_set()]
            if live:
                leaving = random.choice(live)
                leaving.stop.set()
                self.stats.add("sessions left")
            self.start_session(random.choice(self.users[:6]), random.randrange(2))

    def start_session(self, user, edge):
        session = Session(self, user, edge)
        self.sessions.append(session)
        session.task = asyncio.create_task(session.run())

    # Chaos.

    async def chaos(self):
        kinds = self.args.chaos.split(",")
        step = 0
        while True:
            await self.sleep(self.args.chaos_seconds)
            if self.stopping.is_set() or now() > self.chaos_until:
                return
            async with self.chaos_paused:
                kind = kinds[step % len(kinds)]
                step += 1
                try:
                    if kind in ("redis", "postgres"):
                        cell = random.choice(self.cluster.cells)
                        await asyncio.to_thread(self.cluster.services, kind, cell)
                        self.log(f"chaos: restarted {kind} of {cell['name']}")
                    else:
                        targets = {n: p for n, p in self.cluster.supervised().items() if n.startswith(kind + "-")}
                        name, pid = random.choice(sorted(targets.items()))
                        os.kill(pid, signal.SIGKILL)
                        self.log(f"chaos: kill -9 {name} (pid {pid})")
                    self.stats.add(f"chaos: {kind}")
                except Exception as error:  # noqa: BLE001 - chaos that fails is reported, not fatal
                    self.log(f"chaos: {kind} failed: {error}")

    async def operations(self):
        """A workspace move and a tier run, in the middle of the load (chaos paused meanwhile)."""
        await self.sleep(self.args.seconds * 0.35)
        if self.stopping.is_set():
            return
        async with self.chaos_paused:
            try:
                out = await asyncio.to_thread(self.cluster.ctl, "workspace", "move", self.guilds["C"], "--to", self.cells_by_id(2)["name"], "--json")
                summary = json.loads(out[out.index("{"):])
                self.log(f"moved workspace C to cell 2: freeze {summary.get('freeze_ms')} ms, total {summary.get('total_ms')} ms")
                self.stats.add("moves done")
            except Exception as error:  # noqa: BLE001
                self.log(f"workspace move failed: {error}")
                self.stats.add("moves failed")
        await self.sleep(self.args.seconds * 0.15)
        if self.stopping.is_set():
            return
        async with self.chaos_paused:
            try:
                out = await asyncio.to_thread(self.cluster.ctl, "tier", "run", "--cell", self.cells_by_id(1)["name"], "--ahead-days", "60")
                self.log("tier run: " + " ".join(out.split())[:200])
                self.stats.add("tier runs done")
            except Exception as error:  # noqa: BLE001
                self.log(f"tier run failed: {error}")
                self.stats.add("tier runs failed")

    async def sample_memory(self):
        while not self.stopping.is_set():
            for name, pid in self.cluster.supervised().items():
                try:
                    with open(f"/proc/{pid}/status") as f:
                        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
                    self.memory.setdefault(name, []).append((now(), pid, rss))
                except (OSError, StopIteration):
                    pass
            await self.sleep(10)

    async def sleep(self, seconds):
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    # The run.

    async def run(self):
        async with aiohttp.ClientSession() as http:
            self.http = http
            await self.setup()
            self.started = now()
            self.chaos_until = self.started + self.args.seconds * 0.85
            writers = []
            for i in range(self.args.writers):
                user = self.users[i % 6]
                key = ("A", "B", "C")[i % 3]
                # (Discord's send limit is per person and channel: 5 per 5 s.)
                channel = self.channels[key][(i // 6) % 2] if key == "A" else self.channels[key][0]
                writers.append(asyncio.create_task(self.writer(i, user, channel)))
            background = [asyncio.create_task(self.reader(u)) for u in self.users[:4]]
            background += [asyncio.create_task(f()) for f in (self.session_churn, self.chaos, self.operations, self.sample_memory)]
            await asyncio.sleep(self.args.seconds)
            self.log("load stops; deliveries settle")
            self.stopping.set()
            await asyncio.gather(*writers)
            await asyncio.sleep(15)
            for session in self.sessions:
                session.stop.set()
            await asyncio.gather(*(s.task for s in self.sessions), *background, return_exceptions=True)
            return await self.check()

    # The invariants.

    async def history(self, user, channel):
        """Every message of a channel, paged backwards: [(id, content)]."""
        items, before = [], None
        while True:
            for attempt in range(10):
                status, page = await user["api"].call("GET", f"/channels/{channel}/messages?limit=100" + (f"&before={before}" if before else ""))
                if status == 200:
                    break
                await asyncio.sleep(1)
            else:
                raise RuntimeError(f"history of {channel} unreadable: {status}")
            items += [(m["id"], m["content"]) for m in page]
            if len(page) < 100:
                return items
            before = page[-1]["id"]

    async def check(self):
        failures = []
        reader = self.users[0]
        # 1. History: each acknowledged message once, deleted ones absent, last edit kept.
        for key in ("A", "B", "C"):
            for channel in self.channels[key]:
                if channel == self.archive:
                    continue
                listed = await self.history(reader if key != "B" else self.users[1], channel)
                ids = [i for i, _ in listed]
                if len(ids) != len(set(ids)):
                    failures.append(f"history of {channel}: {len(ids) - len(set(ids))} messages listed twice")
                content = dict(listed)
                for mid, record in self.ledger.messages.items():
                    if record["channel"] != channel or record["uncertain"]:
                        continue
                    if record["deleted"] and mid in content:
                        failures.append(f"deleted message {mid} is back in {channel}")
                    elif not record["deleted"] and mid not in content:
                        failures.append(f"acknowledged message {mid} ({record['content']}) missing from {channel}")
                    elif not record["deleted"] and content[mid] != record["content"]:
                        failures.append(f"message {mid}: '{content[mid]}' instead of the acknowledged '{record['content']}'")
        archive = await self.history(reader, self.archive)
        if len(archive) != 3000 or len({i for i, _ in archive}) != 3000:
            failures.append(f"the archived history lists {len(archive)} messages ({len({i for i, _ in archive})} distinct), not 3,000")
        # 2. Replica equal to its home, read by a member of each side.
        home, replica = await self.history(self.a_only, self.shared), await self.history(self.b_only, self.shared)
        if home != replica:
            failures.append(f"the shared channel differs: home {len(home)} messages, replica {len(replica)}")
        # 3. Delivery: continuous sessions got each message acknowledged while live, once, in order.
        checked, deliveries = 0, 0
        for session in self.sessions:
            if session.ready_at is None:
                continue
            checked += 1
            got = [(g, c, i) for g, c, i, _ in session.received]
            deliveries += len(got)
            seen = set()
            for item in got:
                if item in seen:
                    failures.append(f"session {session.session_id}: message {item[2]} delivered twice")
                seen.add(item)
            guilds = self.membership[session.user["id"]]
            missing = []
            for mid, record in self.ledger.messages.items():
                # A session cut off (not resumable) owes nothing from shortly before its loss.
                horizon = session.ended_at - (30 if session.broken else 20)
                if record["sent"] < session.ready_at + 1 or record["acked"] > horizon:
                    continue
                for guild in self.appearances[record["channel"]]:
                    if guild in guilds and (guild, record["channel"], mid) not in seen:
                        missing.append((record["acked"] - self.started, record["channel"], guild))
            if missing:
                times = [t for t, _, _ in missing]
                failures.append(f"session {session.session_id} (edge {session.edge}, {session.resumes} resumes, live {session.ready_at - self.started:.0f}–{session.ended_at - self.started:.0f} s): "
                                f"{len(missing)} messages never delivered, acknowledged at {min(times):.1f}–{max(times):.1f} s, "
                                f"channels {sorted({c for _, c, _ in missing})}")
            order = {}
            for guild, channel, mid, content in session.received:
                record = self.ledger.messages.get(mid)
                if record is None:
                    continue
                key = (guild, record["writer"])
                if order.get(key, 0) > record["seq"]:
                    failures.append(f"session {session.session_id}: writer {record['writer']}'s message {record['seq']} came after {order[key]}")
                order[key] = max(order.get(key, 0), record["seq"])
        # 4. Memory after warm-up, per process instance that lived long enough to tell.
        memory_lines = []
        for name, samples in sorted(self.memory.items()):
            by_pid = {}
            for t, pid, rss in samples:
                by_pid.setdefault(pid, []).append((t, rss))
            for pid, points in by_pid.items():
                warm = [p for p in points if p[0] - points[0][0] >= 180]
                if len(warm) < 12:
                    continue
                first, last, peak = warm[0][1], warm[-1][1], max(r for _, r in warm)
                minutes = (warm[-1][0] - warm[0][0]) / 60
                grew = last > first * 1.5 + 65536
                memory_lines.append(f"  {name:<18} pid {pid:<7} {minutes:5.1f} min after warm-up: {first / 1024:7.1f} → {last / 1024:7.1f} MB (peak {peak / 1024:.1f}){'  GREW' if grew else ''}")
                if grew:
                    failures.append(f"{name} (pid {pid}) grew from {first / 1024:.0f} to {last / 1024:.0f} MB after warm-up")
        if self.stats.hung:
            failures.append(f"{len(self.stats.hung)} requests hung: {self.stats.hung[:3]}")
        if self.args.dump:
            with open(self.args.dump, "w") as f:
                json.dump({"started": self.started, "messages": self.ledger.messages, "events": self.events,
                           "sessions": [dict(id=s.session_id, edge=s.edge, user=s.user["id"], ready=s.ready_at, ended=s.ended_at,
                                             broken=s.broken, resumes=s.resumes, received=s.received) for s in self.sessions]}, f)
        self.report(failures, checked, deliveries, memory_lines)
        return 1 if failures else 0

    def report(self, failures, checked, deliveries, memory_lines):
        minutes = self.args.seconds / 60
        acked = self.stats.counts.get("messages acknowledged", 0)
        lat = sorted(self.stats.latencies)
        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0  # noqa: E731
        print("\n=== soak figures ===")
        print(f"duration: {minutes:.1f} min of load, chaos every {self.args.chaos_seconds} s until {0.85 * minutes:.1f} min")
        print(f"sends: {acked} acknowledged ({acked / self.args.seconds:.1f}/s), latency p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms, max {pct(1.0):.0f} ms")
        for key in sorted(self.stats.counts):
            if key != "messages acknowledged":
                print(f"  {key}: {self.stats.counts[key]}")
        if self.stats.errors:
            print("transient errors seen by clients (retried): " + ", ".join(f"{k} ×{v}" for k, v in sorted(self.stats.errors.items())))
        print(f"sessions: {len(self.sessions)} started, {checked} continuous ones checked, {deliveries} deliveries")
        print("memory (RSS) of each process instance after 3 min of warm-up:")
        print("\n".join(memory_lines) or "  (no instance lived long enough)")
        print(f"hung requests: {len(self.stats.hung)}")
        print("chaos and operations:")
        for line in self.events:
            print("  " + line)
        if failures:
            print(f"\nINVARIANTS FAILED ({len(failures)}):")
            for line in failures[:40]:
                print("  " + line)
        else:
            print("\ninvariants: all hold (history exactly once with edits and deletions, delivery exactly once and in order, replica equal to home, memory flat, nothing hung)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--var", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--seconds", type=float, default=1800)
    parser.add_argument("--chaos-seconds", type=float, default=150)
    parser.add_argument("--writers", type=int, default=12)
    parser.add_argument("--rate", type=float, default=20, help="messages per second, all writers together")
    parser.add_argument("--chaos", default="edge,cell,relay,edge,cell,redis,relay,postgres", help="the chaos steps, in turn")
    parser.add_argument("--dump", help="write what was acknowledged and delivered here (JSON), for a closer look")
    args = parser.parse_args()
    sys.exit(asyncio.run(Soak(args).run()))


if __name__ == "__main__":
    main()
