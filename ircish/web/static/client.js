// The connection and the conversations' state: WebSocket, CAP and SASL,
// reconnects, channels, members, history, search. No DOM here: the UI
// listens to the events this object dispatches ("change", "lines", "search", ...).

import {
  formatLine, makeCasefold, parseCaps, parseLine, saslPlainChunks, searchAttributes,
} from "./irc.js";
import { stripFormatting } from "./format.js";

export const SERVER_BUFFER = "*server*";
const SEARCH_CAP = "soju.im/search";
const HISTORY_CAP = "draft/chathistory";
const WANTED_CAPS = [
  "message-tags", "server-time", "batch", "echo-message", "away-notify", "account-tag",
  "extended-join", "multi-prefix", "cap-notify", HISTORY_CAP, SEARCH_CAP, "sasl",
];
const HISTORY_PAGE = 50;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const TEXT_BYTES = 400; // room for the prefix and tags the server adds when relaying
// A tab left open in a busy channel keeps this many lines; older ones can be fetched again.
const MAX_LINES = 4000;
const TRIM_LINES = 500;

let lineSeq = 0;

export class Buffer {
  constructor(name, key, kind) {
    this.name = name;
    this.key = key;
    this.kind = kind; // "server" | "channel" | "query"
    this.lines = [];
    this.msgids = new Set();
    this.members = new Map(); // casefolded nick -> { nick, prefixes }
    this.topic = "";
    this.unread = 0;
    this.mentions = 0;
    this.joined = false;
    this.historyLoading = false;
    this.historyDone = false;
    this.historyAsked = false;
  }

  // The reference CHATHISTORY BEFORE starts from: the oldest line the server gave.
  oldestReference() {
    for (const line of this.lines) {
      if (line.msgid) return `msgid=${line.msgid}`;
    }
    for (const line of this.lines) {
      if (line.serverTime) return `timestamp=${line.time.toISOString()}`;
    }
    return null;
  }
}

function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

// Split a long text into pieces that each fit in one line.
export function splitText(text, limit = TEXT_BYTES) {
  const pieces = [];
  let current = "";
  for (const ch of text) {
    if (utf8Length(current + ch) > limit) {
      const cut = current.lastIndexOf(" ");
      if (cut > limit / 2) {
        pieces.push(current.slice(0, cut));
        current = current.slice(cut + 1);
      } else {
        pieces.push(current);
        current = "";
      }
    }
    current += ch;
  }
  if (current || pieces.length === 0) pieces.push(current);
  return pieces;
}

export class IrcClient extends EventTarget {
  constructor() {
    super();
    this.ws = null;
    this.settings = null; // { url, nick, account, password }: kept in memory only
    this.nick = "";
    this.registered = false;
    this.offered = new Map();
    this.caps = new Set();
    this.isupport = new Map();
    this.casefold = makeCasefold("rfc1459");
    this.prefixModes = "ov";
    this.prefixChars = "@+";
    this.chanTypes = "#&";
    this.buffers = new Map();
    this.active = SERVER_BUFFER;
    this.batches = new Map();
    this.pendingNames = new Map();
    this.away = new Set();
    this.attempts = 0;
    this.reconnectTimer = null;
    this.reconnectAt = 0;
    this.stopped = true;
    this.switchOnJoin = new Set();
    this.searchPending = false;
    this.saslChunks = null;
    this.ensureBuffer(SERVER_BUFFER, "server");
  }

  // -- events ------------------------------------------------------------------

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  status(text, state) {
    this.statusText = text;
    this.state = state;
    this.emit("status", { text, state });
  }

  // -- buffers -----------------------------------------------------------------

  keyOf(name) {
    return name === SERVER_BUFFER ? name : this.casefold(name);
  }

  isChannel(name) {
    return name.length > 0 && this.chanTypes.includes(name[0]);
  }

  buffer(name) {
    return this.buffers.get(this.keyOf(name));
  }

  ensureBuffer(name, kind) {
    const key = this.keyOf(name);
    let buf = this.buffers.get(key);
    if (!buf) {
      buf = new Buffer(name, key, kind);
      this.buffers.set(key, buf);
      this.emit("buffers");
    }
    return buf;
  }

  closeBuffer(name) {
    const key = this.keyOf(name);
    if (key === SERVER_BUFFER) return;
    this.buffers.delete(key);
    if (this.active === key) this.active = SERVER_BUFFER;
    this.emit("buffers");
    this.emit("switch");
  }

  setActive(name) {
    const buf = this.buffer(name);
    if (!buf) return;
    this.active = buf.key;
    buf.unread = 0;
    buf.mentions = 0;
    if (buf.kind === "query" && !buf.historyAsked) this.requestLatest(buf);
    this.emit("buffers");
    this.emit("switch");
  }

  activeBuffer() {
    return this.buffers.get(this.active) ?? this.buffers.get(SERVER_BUFFER);
  }

  // A line for a buffer: appended live, or merged into history by time. Lines of
  // one millisecond keep the server's order: an older page ("before", given newest
  // first) goes in front of lines with the same time, any other after them.
  addLine(buf, line, { live = true, older = false } = {}) {
    if (line.msgid) {
      if (buf.msgids.has(line.msgid)) return;
      buf.msgids.add(line.msgid);
    }
    line.id = ++lineSeq;
    const last = buf.lines[buf.lines.length - 1];
    if (live || !last || (!older && last.time <= line.time)) buf.lines.push(line);
    else {
      let i = buf.lines.length;
      const later = older ? (t) => t >= line.time : (t) => t > line.time;
      while (i > 0 && later(buf.lines[i - 1].time)) i--;
      buf.lines.splice(i, 0, line);
    }
    if (live && buf.key !== this.active && line.counts && !line.self) {
      buf.unread++;
      if (line.highlight) buf.mentions++;
      this.emit("buffers");
    }
    if (live) this.emit("line", { buffer: buf, line });
    if (live && buf.lines.length > MAX_LINES) this.trim(buf);
  }

  trim(buf) {
    const dropped = buf.lines.splice(0, TRIM_LINES);
    for (const line of dropped) if (line.msgid) buf.msgids.delete(line.msgid);
    buf.historyDone = false;
    this.emit("history", { buffer: buf, loading: false, added: -dropped.length });
  }

  info(buf, text, kind = "info", msg = null) {
    this.addLine(buf, this.makeLine(kind, "", text, msg));
  }

  makeLine(kind, nick, text, msg) {
    const serverTime = Boolean(msg && msg.tags.time);
    const time = serverTime ? new Date(msg.tags.time) : new Date();
    return {
      kind, nick, text,
      time: Number.isNaN(time.getTime()) ? new Date() : time,
      serverTime,
      msgid: msg?.tags?.msgid || "",
      self: nick !== "" && this.casefold(nick) === this.casefold(this.nick),
      highlight: false,
      counts: false,
    };
  }

  // -- connection ----------------------------------------------------------------

  connect(settings) {
    this.settings = { ...settings };
    this.stopped = false;
    this.attempts = 0;
    this.open();
  }

  open() {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.status("Connecting…", "connecting");
    let ws;
    try {
      ws = new WebSocket(this.settings.url, ["text.ircv3.net"]);
    } catch (err) {
      this.status(`Cannot connect: ${err.message}`, "error");
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => this.onOpen(ws));
    ws.addEventListener("message", (ev) => {
      if (ws !== this.ws) return;
      const text = typeof ev.data === "string" ? ev.data : "";
      for (const line of text.split(/\r?\n/)) if (line) this.onLine(parseLine(line));
    });
    ws.addEventListener("close", () => this.onClose(ws));
  }

  onOpen(ws) {
    if (ws !== this.ws) return;
    this.registered = false;
    this.offered = new Map();
    this.caps = new Set();
    this.batches = new Map();
    this.nick = this.settings.nick;
    this.status("Registering…", "connecting");
    this.send("CAP", "LS", "302");
    this.send("NICK", this.nick);
    this.send("USER", this.settings.nick, "0", "*", this.settings.nick);
  }

  onClose(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.registered = false;
    for (const buf of this.buffers.values()) {
      if (buf.kind === "channel") {
        buf.members.clear();
        buf.historyLoading = false;
      }
    }
    this.emit("members");
    if (this.stopped) {
      this.status("Disconnected", "disconnected");
      return;
    }
    this.info(this.buffers.get(SERVER_BUFFER), "Connection lost");
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempts);
    // Jitter keeps many clients of a restarted server from reconnecting in step.
    const wait = Math.round(delay * (0.75 + Math.random() * 0.5));
    this.attempts++;
    this.reconnectAt = Date.now() + wait;
    this.status(`Disconnected; reconnecting in ${Math.ceil(wait / 1000)} s`, "reconnecting");
    this.reconnectTimer = setTimeout(() => this.open(), wait);
  }

  disconnect(reason = "Leaving") {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    if (this.ws) {
      this.send("QUIT", reason);
      this.ws.close();
    }
  }

  send(command, ...params) {
    this.sendRaw(formatLine(command, ...params));
  }

  sendRaw(line) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(line);
  }

  // -- registration -----------------------------------------------------------------

  onCap(msg) {
    const sub = (msg.params[1] || "").toUpperCase();
    const more = msg.params[2] === "*";
    const list = msg.params[more ? 3 : 2] || "";
    if (sub === "LS") {
      for (const [k, v] of parseCaps(list)) this.offered.set(k, v);
      if (!more) this.requestCaps(this.registered);
    } else if (sub === "NEW") {
      for (const [k, v] of parseCaps(list)) this.offered.set(k, v);
      this.requestCaps(true);
    } else if (sub === "DEL") {
      for (const k of parseCaps(list).keys()) {
        this.offered.delete(k);
        this.caps.delete(k);
      }
      this.emit("caps");
    } else if (sub === "ACK") {
      for (const k of parseCaps(list).keys()) {
        if (k.startsWith("-")) this.caps.delete(k.slice(1));
        else this.caps.add(k);
      }
      this.emit("caps");
      if (!this.registered) this.afterAck();
    } else if (sub === "NAK") {
      if (!this.registered) this.afterAck();
    }
  }

  requestCaps(registered) {
    const wanted = WANTED_CAPS.filter((c) => {
      if (!this.offered.has(c) || this.caps.has(c)) return false;
      if (c === "sasl") return !registered && Boolean(this.settings.account);
      return true;
    });
    if (!registered && this.settings.account && !this.offered.has("sasl")) {
      this.fatal("The server does not offer SASL: cannot log in to an account");
      return;
    }
    if (wanted.length === 0) {
      if (!registered) this.send("CAP", "END");
      return;
    }
    this.send("CAP", "REQ", wanted.join(" "));
  }

  afterAck() {
    if (this.settings.account && !this.caps.has("sasl")) {
      this.fatal("The server refused SASL: cannot log in to an account");
      return;
    }
    if (this.settings.account) {
      const mechs = (this.offered.get("sasl") || "PLAIN").split(",");
      if (mechs[0] !== "" && !mechs.includes("PLAIN")) {
        this.fatal("The server does not offer SASL PLAIN");
        return;
      }
      this.saslChunks = saslPlainChunks(this.settings.account, this.settings.password || "");
      this.send("AUTHENTICATE", "PLAIN");
      return;
    }
    this.send("CAP", "END");
  }

  onAuthenticate(msg) {
    if (msg.params[0] !== "+" || !this.saslChunks) return;
    for (const chunk of this.saslChunks) this.send("AUTHENTICATE", chunk);
    this.saslChunks = null;
  }

  // A login that cannot succeed: stop (no reconnect loop) and say why.
  fatal(text) {
    this.stopped = true;
    this.info(this.buffers.get(SERVER_BUFFER), text, "error");
    this.emit("fatal", { text });
    if (this.ws) {
      this.send("QUIT", "Login failed");
      this.ws.close();
    }
    this.status(text, "error");
  }

  onWelcome(msg) {
    this.registered = true;
    this.nick = msg.params[0];
    this.attempts = 0;
    this.status(`Connected as ${this.nick}`, "connected");
    this.emit("registered");
    for (const buf of this.buffers.values()) {
      if (buf.kind === "channel" && buf.joined) {
        buf.joined = false;
        this.send("JOIN", buf.name);
      }
    }
    if (this.caps.has(HISTORY_CAP)) {
      // Private conversations of the last month, newest first.
      const now = new Date();
      const since = new Date(now.getTime() - 30 * 24 * 3600 * 1000);
      this.send("CHATHISTORY", "TARGETS", `timestamp=${now.toISOString()}`,
        `timestamp=${since.toISOString()}`, "50");
    }
  }

  onIsupport(msg) {
    for (const token of msg.params.slice(1, -1)) {
      const eq = token.indexOf("=");
      const key = (eq < 0 ? token : token.slice(0, eq)).toUpperCase();
      const value = eq < 0 ? "" : token.slice(eq + 1);
      if (key.startsWith("-")) {
        this.isupport.delete(key.slice(1));
        continue;
      }
      this.isupport.set(key, value);
      if (key === "CASEMAPPING") this.casefold = makeCasefold(value);
      if (key === "CHANTYPES") this.chanTypes = value;
      if (key === "PREFIX") {
        const m = /^\(([^)]*)\)(.*)$/.exec(value);
        if (m && m[1].length === m[2].length) [this.prefixModes, this.prefixChars] = [m[1], m[2]];
      }
    }
  }

  // -- lines ------------------------------------------------------------------------

  onLine(msg) {
    const batchId = msg.tags.batch;
    if (batchId && this.batches.has(batchId) && msg.command !== "BATCH") {
      this.batches.get(batchId).lines.push(msg);
      return;
    }
    const handler = HANDLERS[msg.command];
    if (handler) handler.call(this, msg);
    else if (/^[45]\d\d$/.test(msg.command)) this.onErrorNumeric(msg);
    else if (/^\d\d\d$/.test(msg.command)) {
      this.info(this.buffers.get(SERVER_BUFFER), msg.params.slice(1).join(" "), "info", msg);
    }
  }

  onBatch(msg) {
    const ref = msg.params[0] || "";
    if (ref.startsWith("+")) {
      const batch = { type: msg.params[1] || "", params: msg.params.slice(2), lines: [] };
      const parent = msg.tags.batch && this.batches.get(msg.tags.batch);
      this.batches.set(ref.slice(1), batch);
      if (parent) batch.parent = parent;
      return;
    }
    const id = ref.slice(1);
    const batch = this.batches.get(id);
    if (!batch) return;
    this.batches.delete(id);
    if (batch.type === "chathistory") this.onHistoryBatch(batch);
    else if (batch.type === "draft/chathistory-targets") this.onTargetsBatch(batch);
    else if (batch.type === SEARCH_CAP || batch.type === "search") this.onSearchBatch(batch);
    else for (const line of batch.lines) this.onLine(stripBatch(line));
  }

  // -- history ----------------------------------------------------------------------

  requestLatest(buf) {
    if (!this.caps.has(HISTORY_CAP) || !this.registered) return;
    buf.historyAsked = true;
    buf.historyLoading = true;
    buf.historyRequest = "latest";
    this.send("CHATHISTORY", "LATEST", buf.name, "*", String(this.historyPage()));
  }

  loadOlder(buf) {
    if (!this.caps.has(HISTORY_CAP) || !this.registered) return false;
    if (buf.historyLoading || buf.historyDone || buf.kind === "server") return false;
    const ref = buf.oldestReference();
    if (!ref) {
      this.requestLatest(buf);
      return true;
    }
    buf.historyLoading = true;
    buf.historyRequest = "before";
    this.send("CHATHISTORY", "BEFORE", buf.name, ref, String(this.historyPage()));
    this.emit("history", { buffer: buf, loading: true });
    return true;
  }

  historyPage() {
    const max = Number(this.isupport.get("CHATHISTORY") || 0);
    return max > 0 ? Math.min(max, HISTORY_PAGE) : HISTORY_PAGE;
  }

  onHistoryBatch(batch) {
    const target = batch.params[0] || "";
    const buf = this.buffer(target) ?? (this.isChannel(target) ? null
      : this.ensureBuffer(target, "query"));
    if (!buf) return;
    let added = 0;
    const older = buf.historyRequest === "before";
    const messages = older ? [...batch.lines].reverse() : batch.lines;
    for (const msg of messages) {
      const line = this.messageLine(msg);
      if (!line) continue;
      const before = buf.lines.length;
      this.addLine(buf, line, { live: false, older });
      added += buf.lines.length - before;
    }
    if (batch.lines.length < this.historyPage()) buf.historyDone = true;
    buf.historyLoading = false;
    this.emit("history", { buffer: buf, loading: false, added });
  }

  onTargetsBatch(batch) {
    for (const msg of batch.lines) {
      const target = msg.params[1];
      if (msg.command !== "CHATHISTORY" || !target || this.isChannel(target)) continue;
      this.ensureBuffer(target, "query");
    }
  }

  // -- search -----------------------------------------------------------------------

  get searchAvailable() {
    return this.caps.has(SEARCH_CAP) && this.caps.has("batch");
  }

  search(attrs) {
    if (!this.searchAvailable || !this.registered) return false;
    this.searchPending = true;
    this.send("SEARCH", searchAttributes({ limit: 50, ...attrs }));
    return true;
  }

  onSearchBatch(batch) {
    this.searchPending = false;
    const results = [];
    for (const msg of batch.lines) {
      const line = this.messageLine(msg);
      if (!line) continue;
      line.target = this.conversationOf(msg);
      results.push(line);
    }
    this.emit("search", { results });
  }

  // -- messages -----------------------------------------------------------------------

  // Which conversation a PRIVMSG/NOTICE belongs to: the channel, or the other party.
  conversationOf(msg) {
    let target = msg.params[0] || "";
    while (target && this.prefixChars.includes(target[0]) && !this.isChannel(target)) {
      target = target.slice(1); // STATUSMSG: @#chan
    }
    if (this.isChannel(target)) return target;
    const fromSelf = this.casefold(msg.nick) === this.casefold(this.nick);
    return fromSelf ? target : msg.nick;
  }

  messageLine(msg) {
    if (msg.command !== "PRIVMSG" && msg.command !== "NOTICE") return null;
    let text = msg.params[1] ?? "";
    let kind = msg.command === "NOTICE" ? "notice" : "privmsg";
    if (text.startsWith("\x01")) {
      const body = text.replace(/^\x01|\x01$/g, "");
      if (!body.startsWith("ACTION")) return null; // other CTCPs are not shown
      text = body.slice(7);
      kind = "action";
    }
    const line = this.makeLine(kind, msg.nick, text, msg);
    line.counts = true;
    line.account = msg.tags.account || "";
    const target = this.conversationOf(msg);
    line.highlight = !line.self && (!this.isChannel(target) || this.mentions(text));
    return line;
  }

  mentions(text) {
    if (!this.nick) return false;
    const plain = this.casefold(stripFormatting(text));
    const nick = this.casefold(this.nick);
    let at = plain.indexOf(nick);
    while (at >= 0) {
      const before = at === 0 ? " " : plain[at - 1];
      const after = plain[at + nick.length] ?? " ";
      const word = /[a-z0-9_\-[\]\\`^{}|]/;
      if (!word.test(before) && !word.test(after)) return true;
      at = plain.indexOf(nick, at + 1);
    }
    return false;
  }

  onMessage(msg) {
    const line = this.messageLine(msg);
    if (!line) return;
    const fromServer = !msg.source.includes("!") && !msg.source.includes("@");
    if (msg.command === "NOTICE" && (fromServer || !this.registered)) {
      this.addLine(this.buffers.get(SERVER_BUFFER), line);
      return;
    }
    const target = this.conversationOf(msg);
    let buf = this.buffer(target);
    if (!buf) {
      if (this.isChannel(target)) return;
      if (msg.command === "NOTICE") {
        this.addLine(this.buffers.get(SERVER_BUFFER), line);
        return;
      }
      buf = this.ensureBuffer(target, "query");
      // The window opens with what was said before, when the server keeps history.
      if (this.caps.has(HISTORY_CAP)) this.requestLatest(buf);
    }
    this.addLine(buf, line);
  }

  // -- outgoing -----------------------------------------------------------------------

  say(target, text, kind = "privmsg") {
    const command = kind === "notice" ? "NOTICE" : "PRIVMSG";
    for (const piece of splitText(text)) {
      const body = kind === "action" ? `\x01ACTION ${piece}\x01` : piece;
      this.send(command, target, body);
      if (!this.caps.has("echo-message")) {
        const buf = this.buffer(target) ?? this.ensureBuffer(target, "query");
        const line = this.makeLine(kind, this.nick, piece, null);
        line.counts = true;
        this.addLine(buf, line);
      }
    }
  }

  join(channel, key) {
    this.switchOnJoin.add(this.casefold(channel));
    if (key) this.send("JOIN", channel, key);
    else this.send("JOIN", channel);
  }

  // -- members ------------------------------------------------------------------------

  splitPrefixes(entry) {
    let i = 0;
    while (i < entry.length && this.prefixChars.includes(entry[i])) i++;
    return [entry.slice(0, i), entry.slice(i).split("!")[0]];
  }

  sortPrefixes(prefixes) {
    return [...new Set(prefixes)]
      .sort((a, b) => this.prefixChars.indexOf(a) - this.prefixChars.indexOf(b))
      .join("");
  }

  setMember(buf, nick, prefixes = "") {
    buf.members.set(this.casefold(nick), { nick, prefixes: this.sortPrefixes(prefixes) });
  }

  onErrorNumeric(msg) {
    const text = msg.params.slice(1).join(" ");
    if (msg.command === "433" && !this.registered) {
      this.nick = `${this.nick}_`;
      this.send("NICK", this.nick);
      return;
    }
    if (msg.command === "432" && !this.registered) {
      this.fatal(`The nickname ${this.nick} cannot be used: ${msg.params.at(-1)}`);
      return;
    }
    if (["902", "904", "905", "906"].includes(msg.command)) {
      this.fatal(`Login failed: ${msg.params[msg.params.length - 1]}`);
      return;
    }
    this.info(this.activeBuffer(), text, "error", msg);
  }
}

function stripBatch(msg) {
  const copy = { ...msg, tags: { ...msg.tags } };
  delete copy.tags.batch;
  return copy;
}

// Verb handlers, called with the client as `this`.
const HANDLERS = {
  PING(msg) { this.send("PONG", ...msg.params); },
  CAP(msg) { this.onCap(msg); },
  AUTHENTICATE(msg) { this.onAuthenticate(msg); },
  BATCH(msg) { this.onBatch(msg); },
  "001"(msg) { this.onWelcome(msg); },
  "005"(msg) { this.onIsupport(msg); },
  "900"(msg) { this.info(this.buffers.get(SERVER_BUFFER), msg.params.at(-1), "info", msg); },
  "903"() { this.send("CAP", "END"); },
  "902"(msg) { this.onErrorNumeric(msg); },
  "904"(msg) { this.onErrorNumeric(msg); },
  "905"(msg) { this.onErrorNumeric(msg); },
  "906"(msg) { this.onErrorNumeric(msg); },
  "908"() {},
  ERROR(msg) {
    this.info(this.buffers.get(SERVER_BUFFER), `Server closed the link: ${msg.params[0] ?? ""}`,
      "error", msg);
  },
  FAIL(msg) {
    const [command] = msg.params;
    if (command === "SEARCH") {
      this.searchPending = false;
      this.emit("search", { error: msg.params.at(-1) });
    }
    if (command === "CHATHISTORY") {
      for (const buf of this.buffers.values()) {
        if (buf.historyLoading) {
          buf.historyLoading = false;
          buf.historyDone = true;
          this.emit("history", { buffer: buf, loading: false, added: 0 });
        }
      }
    }
    this.info(this.activeBuffer(), `${command}: ${msg.params.at(-1)}`, "error", msg);
  },
  PRIVMSG(msg) { this.onMessage(msg); },
  NOTICE(msg) { this.onMessage(msg); },
  JOIN(msg) {
    const channel = msg.params[0];
    const self = this.casefold(msg.nick) === this.casefold(this.nick);
    const buf = self ? this.ensureBuffer(channel, "channel") : this.buffer(channel);
    if (!buf) return;
    if (self) {
      buf.name = channel;
      buf.joined = true;
      buf.historyDone = false;
      buf.members.clear();
      // The channel asked for, or the first one (auto-join) while the server window shows.
      const wanted = this.switchOnJoin.delete(this.casefold(channel));
      if (wanted || this.active === SERVER_BUFFER) this.setActive(channel);
      this.requestLatest(buf);
    }
    this.setMember(buf, msg.nick);
    this.info(buf, `${msg.nick} joined ${channel}`, "join", msg);
    this.emit("members", { buffer: buf });
  },
  PART(msg) {
    const buf = this.buffer(msg.params[0]);
    if (!buf) return;
    if (this.casefold(msg.nick) === this.casefold(this.nick)) {
      this.closeBuffer(buf.name);
      return;
    }
    buf.members.delete(this.casefold(msg.nick));
    const reason = msg.params[1] ? ` (${msg.params[1]})` : "";
    this.info(buf, `${msg.nick} left${reason}`, "part", msg);
    this.emit("members", { buffer: buf });
  },
  KICK(msg) {
    const [channel, victim, reason = ""] = msg.params;
    const buf = this.buffer(channel);
    if (!buf) return;
    buf.members.delete(this.casefold(victim));
    const why = reason ? ` (${reason})` : "";
    this.info(buf, `${msg.nick} kicked ${victim}${why}`, "kick", msg);
    if (this.casefold(victim) === this.casefold(this.nick)) {
      buf.joined = false;
      buf.members.clear();
    }
    this.emit("members", { buffer: buf });
  },
  QUIT(msg) {
    const key = this.casefold(msg.nick);
    const reason = msg.params[0] ? ` (${msg.params[0]})` : "";
    for (const buf of this.buffers.values()) {
      if (buf.members.delete(key) || (buf.kind === "query" && buf.key === key)) {
        this.info(buf, `${msg.nick} quit${reason}`, "quit", msg);
      }
    }
    this.away.delete(key);
    this.emit("members");
  },
  NICK(msg) {
    const old = msg.nick;
    const now = msg.params[0];
    const oldKey = this.casefold(old);
    const self = oldKey === this.casefold(this.nick);
    if (self) {
      this.nick = now;
      this.status(`Connected as ${now}`, "connected");
    }
    for (const buf of [...this.buffers.values()]) {
      const member = buf.members.get(oldKey);
      if (member) {
        buf.members.delete(oldKey);
        this.setMember(buf, now, member.prefixes);
      }
      if (buf.kind === "query" && buf.key === oldKey) {
        this.buffers.delete(oldKey);
        buf.name = now;
        buf.key = this.casefold(now);
        this.buffers.set(buf.key, buf);
        if (this.active === oldKey) this.active = buf.key;
      }
      if (member || self || buf.key === this.casefold(now)) {
        this.info(buf, `${old} is now known as ${now}`, "nick", msg);
      }
    }
    this.emit("buffers");
    this.emit("members");
  },
  MODE(msg) {
    const [target, modes = "", ...args] = msg.params;
    const buf = this.buffer(target);
    if (!buf || buf.kind !== "channel") return;
    const chanmodes = (this.isupport.get("CHANMODES") || "beI,k,l,imnst").split(",");
    let adding = true;
    let argi = 0;
    for (const c of modes) {
      if (c === "+" || c === "-") {
        adding = c === "+";
        continue;
      }
      const p = this.prefixModes.indexOf(c);
      if (p >= 0) {
        const nick = args[argi++];
        const member = nick && buf.members.get(this.casefold(nick));
        if (member) {
          const prefix = this.prefixChars[p];
          const set = adding ? member.prefixes + prefix : member.prefixes.replace(prefix, "");
          member.prefixes = this.sortPrefixes(set);
        }
      } else if ((chanmodes[0] || "").includes(c) || (chanmodes[1] || "").includes(c)) {
        argi++;
      } else if ((chanmodes[2] || "").includes(c) && adding) {
        argi++;
      }
    }
    this.info(buf, `${msg.nick} sets mode ${[modes, ...args].join(" ")}`, "mode", msg);
    this.emit("members", { buffer: buf });
  },
  TOPIC(msg) {
    const buf = this.buffer(msg.params[0]);
    if (!buf) return;
    buf.topic = msg.params[1] ?? "";
    this.info(buf, `${msg.nick} changed the topic to: ${buf.topic}`, "topic", msg);
    this.emit("topic", { buffer: buf });
  },
  "331"(msg) {
    const buf = this.buffer(msg.params[1]);
    if (buf) {
      buf.topic = "";
      this.emit("topic", { buffer: buf });
    }
  },
  "332"(msg) {
    const buf = this.buffer(msg.params[1]);
    if (!buf) return;
    buf.topic = msg.params[2] ?? "";
    this.emit("topic", { buffer: buf });
  },
  "333"() {},
  "353"(msg) {
    const channel = msg.params[2];
    const key = this.keyOf(channel);
    if (!this.pendingNames.has(key)) this.pendingNames.set(key, []);
    for (const entry of (msg.params[3] || "").split(" ")) {
      if (entry) this.pendingNames.get(key).push(this.splitPrefixes(entry));
    }
  },
  "366"(msg) {
    const key = this.keyOf(msg.params[1]);
    const names = this.pendingNames.get(key) || [];
    this.pendingNames.delete(key);
    const buf = this.buffers.get(key);
    if (!buf) return;
    buf.members.clear();
    for (const [prefixes, nick] of names) this.setMember(buf, nick, prefixes);
    this.emit("members", { buffer: buf });
  },
  AWAY(msg) {
    const key = this.casefold(msg.nick);
    if (msg.params.length && msg.params[0]) this.away.add(key);
    else this.away.delete(key);
    this.emit("members");
  },
  ACCOUNT() {},
  TAGMSG() {},
  CHGHOST() {},
  SETNAME() {},
  "372"(msg) { this.info(this.buffers.get(SERVER_BUFFER), msg.params.at(-1), "motd", msg); },
  "375"() {},
  "376"() {},
};
