// Discord's gateway, as bots speak it: HELLO, IDENTIFY or RESUME, heartbeats carrying the last
// sequence, dispatches. A dropped socket is resumed (nothing lost, nothing repeated); a session
// that cannot be resumed identifies again and the app reloads what it shows.

// GUILDS | GUILD_MEMBERS | GUILD_PRESENCES | GUILD_MESSAGES | GUILD_MESSAGE_TYPING | MESSAGE_CONTENT
// Guilds, members, presences, messages, reactions, typing, direct messages and their
// reactions, message content.
const INTENTS = 1 | 2 | 256 | 512 | 1024 | 2048 | 4096 | 8192 | 32768;
const FATAL_CLOSE_CODES = new Set([4004, 4010, 4011, 4012, 4013, 4014]);

export class Gateway {
  constructor({ token, onDispatch, onStatus, onFatal }) {
    this.token = token;
    this.onDispatch = onDispatch;
    this.onStatus = onStatus;
    this.onFatal = onFatal;
    this.seq = null;
    this.sessionId = null;
    this.attempt = 0;
    this.stopped = false;
  }

  start() { this.connect(); }

  stop() {
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    this.ws?.close(1000);
  }

  /** Cuts the socket as a network failure would (the client then resumes). */
  drop() { this.ws?.close(4000); }

  connect() {
    // The edge that served the app is the nearest one: its gateway is on the same origin.
    const url = `${location.origin.replace(/^http/, 'ws')}/gateway?v=10&encoding=json`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (event) => { if (this.ws === ws) this.receive(JSON.parse(event.data)); };
    ws.onclose = (event) => { if (this.ws === ws) this.closed(event.code); };
  }

  send(payload) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(payload));
  }

  receive(frame) {
    if (frame.s != null) this.seq = frame.s;
    switch (frame.op) {
      case 10: return this.hello(frame.d.heartbeat_interval);
      case 11: this.acknowledged = true; return;
      case 1: return this.beat();
      case 7: return this.ws.close(4000);
      case 9:
        if (!frame.d) { this.sessionId = null; this.seq = null; }
        return this.ws.close(4000);
      case 0:
        if (frame.t === 'READY') this.sessionId = frame.d.session_id;
        if (frame.t === 'READY' || frame.t === 'RESUMED') { this.attempt = 0; this.onStatus(true); }
        this.onDispatch(frame.t, frame.d);
    }
  }

  hello(interval) {
    clearInterval(this.heartbeatTimer);
    this.acknowledged = true;
    this.heartbeatTimer = setInterval(() => this.beat(), interval);
    if (this.sessionId) {
      this.send({ op: 6, d: { token: this.token, session_id: this.sessionId, seq: this.seq ?? 0 } });
    } else {
      this.send({ op: 2, d: { token: this.token, intents: INTENTS, properties: { os: navigator.platform, browser: 'concord-web', device: 'concord-web' } } });
    }
  }

  beat() {
    // No ACK since the last beat: the connection is dead even if the socket says otherwise.
    if (!this.acknowledged) return this.ws.close(4000);
    this.acknowledged = false;
    this.send({ op: 1, d: this.seq });
  }

  closed(code) {
    clearInterval(this.heartbeatTimer);
    if (this.stopped) return;
    this.onStatus(false);
    if (FATAL_CLOSE_CODES.has(code)) return this.onFatal(code);
    const delay = Math.min(500 * 2 ** this.attempt, 8000);
    this.attempt += 1;
    setTimeout(() => this.connect(), delay);
  }
}
