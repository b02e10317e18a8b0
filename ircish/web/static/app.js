// The page: login form, sidebar, message view, nick list, search pane, input.
// Every text from the network enters the DOM through textContent or text nodes.

import { IrcClient, SERVER_BUFFER } from "./client.js";
import { render } from "./format.js";

const $ = (id) => document.getElementById(id);
const client = new IrcClient();
// The test suite and the screenshot script look at the client through this.
window.ircish = client;

const STORE_KEY = "ircish.login"; // nick and account name only, never the password
const NEAR_BOTTOM_PX = 40;
const NEAR_TOP_PX = 60;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function websocketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/`;
}

function hashClass(nick) {
  let h = 0;
  for (const c of client.casefold(nick)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `nick-c${h % 12}`;
}

function timeText(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit",
    hourCycle: "h23" });
}

// -- login ------------------------------------------------------------------------------

function loadRemembered() {
  try {
    return JSON.parse(localStorage.getItem(STORE_KEY) || "{}");
  } catch {
    return {};
  }
}

function remember(nick, account) {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify({ nick, account }));
  } catch {
    // Private windows may refuse storage; remembering is only a convenience.
  }
}

function setupLogin() {
  $("login-server").textContent = websocketUrl();
  const saved = loadRemembered();
  if (typeof saved.nick === "string") $("login-nick").value = saved.nick;
  if (typeof saved.account === "string" && saved.account) {
    $("login-account").value = saved.account;
    $("login-account-box").open = true;
  }
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const nick = $("login-nick").value.trim();
    const account = $("login-account").value.trim();
    const password = $("login-password").value;
    if (!/^[^\s:#&,*?!@.][^\s,*?!@.]*$/.test(nick)) {
      $("login-error").textContent = "That nickname cannot be used on IRC.";
      return;
    }
    if (account && !password) {
      $("login-error").textContent = "Give the account's password, or leave the account empty.";
      return;
    }
    $("login-error").textContent = "";
    remember(nick, account);
    // The password field is emptied: the client keeps it in memory for reconnects only.
    $("login-password").value = "";
    client.connect({ url: websocketUrl(), nick, account, password });
    showChat();
  });
}

function showChat() {
  $("login").hidden = true;
  $("chat").hidden = false;
  renderAll();
  $("input").focus();
}

client.addEventListener("fatal", (ev) => {
  $("chat").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = ev.detail.text;
});

// -- sidebar ------------------------------------------------------------------------------

function sortedBuffers() {
  const order = { server: 0, channel: 1, query: 2 };
  return [...client.buffers.values()].sort(
    (a, b) => order[a.kind] - order[b.kind] || a.key.localeCompare(b.key),
  );
}

function renderBuffers() {
  const list = $("buffers");
  list.replaceChildren();
  for (const buf of sortedBuffers()) {
    const li = el("li", "buffer");
    li.dataset.key = buf.key;
    li.dataset.kind = buf.kind;
    if (buf.key === client.active) li.classList.add("active");
    if (buf.kind === "channel" && !buf.joined) li.classList.add("parted");
    const button = el("button", "buffer-button");
    button.type = "button";
    button.append(el("span", "buffer-name", buf.kind === "server" ? "server" : buf.name));
    if (buf.mentions) button.append(el("span", "badge mention", String(buf.mentions)));
    else if (buf.unread) button.append(el("span", "badge unread", String(buf.unread)));
    button.addEventListener("click", () => {
      client.setActive(buf.name);
      document.body.classList.remove("sidebar-open");
    });
    li.append(button);
    list.append(li);
  }
  $("me").textContent = client.nick;
  const total = sortedBuffers().reduce((n, b) => n + b.mentions, 0);
  document.title = total ? `(${total}) ircish` : "ircish";
}

// -- messages -------------------------------------------------------------------------------

function lineNode(line) {
  const row = el("div", `line line-${line.kind}`);
  row.dataset.id = String(line.id);
  if (line.msgid) row.dataset.msgid = line.msgid;
  if (line.highlight) row.classList.add("highlight");
  if (line.self) row.classList.add("self");
  const ts = el("time", "ts", timeText(line.time));
  ts.dateTime = line.time.toISOString();
  ts.title = line.time.toLocaleString();
  row.append(ts);
  const text = el("span", "text");
  if (line.kind === "privmsg" || line.kind === "notice") {
    const nick = el("span", `nick ${hashClass(line.nick)}`, line.nick);
    row.append(nick);
    if (line.kind === "notice") row.append(el("span", "notice-mark", "notice"));
  } else if (line.kind === "action") {
    text.append(el("span", `nick ${hashClass(line.nick)}`, `* ${line.nick} `));
  } else {
    row.append(el("span", "nick event-mark", line.kind === "error" ? "!" : "–"));
  }
  text.append(render(line.text));
  row.append(text);
  return row;
}

function historyNote(buf) {
  if (buf.kind === "server") return null;
  if (buf.historyLoading) return el("div", "history-note", "Loading older messages…");
  if (buf.historyDone) return el("div", "history-note done", "Start of history");
  if (!client.caps.has("draft/chathistory")) return null;
  const button = el("button", "history-note more", "Load older messages");
  button.type = "button";
  button.addEventListener("click", () => {
    if (client.loadOlder(buf)) renderMessages({ keepPosition: true });
  });
  return button;
}

function renderMessages({ keepPosition = false } = {}) {
  const box = $("messages");
  const buf = client.activeBuffer();
  const fromBottom = box.scrollHeight - box.scrollTop;
  const atBottom = fromBottom - box.clientHeight < NEAR_BOTTOM_PX;
  const frag = document.createDocumentFragment();
  const note = historyNote(buf);
  if (note) frag.append(note);
  for (const line of buf.lines) frag.append(lineNode(line));
  box.replaceChildren(frag);
  if (keepPosition && !atBottom) box.scrollTop = box.scrollHeight - fromBottom;
  else box.scrollTop = box.scrollHeight;
}

function appendLine(line) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX;
  box.append(lineNode(line));
  if (atBottom || line.self) box.scrollTop = box.scrollHeight;
}

function renderHeader() {
  const buf = client.activeBuffer();
  $("title").textContent = buf.kind === "server" ? "server" : buf.name;
  const topic = $("topic");
  topic.replaceChildren(render(buf.topic || ""));
  topic.title = buf.topic || "";
  $("chat").classList.toggle("has-members", buf.kind === "channel");
  renderSearchBox();
}

function renderMembers() {
  const buf = client.activeBuffer();
  const list = $("member-list");
  list.replaceChildren();
  if (buf.kind !== "channel") {
    $("members-count").textContent = "";
    return;
  }
  const rank = (m) => (m.prefixes ? client.prefixChars.indexOf(m.prefixes[0]) : 99);
  const members = [...buf.members.values()].sort(
    (a, b) => rank(a) - rank(b) || client.casefold(a.nick).localeCompare(client.casefold(b.nick)),
  );
  $("members-count").textContent = `${members.length} ${members.length === 1 ? "member" : "members"}`;
  for (const m of members) {
    const li = el("li", "member");
    if (client.away.has(client.casefold(m.nick))) li.classList.add("away");
    li.dataset.nick = m.nick;
    li.append(el("span", "prefix", m.prefixes.slice(0, 1)));
    const name = el("button", `member-nick ${hashClass(m.nick)}`, m.nick);
    name.type = "button";
    name.addEventListener("click", () => openQuery(m.nick));
    li.append(name);
    list.append(li);
  }
}

function renderStatus() {
  const status = $("status");
  status.textContent = client.state === "connected" ? "" : client.statusText || "";
  status.dataset.state = client.state || "";
}

function renderAll() {
  renderBuffers();
  renderHeader();
  renderMessages();
  renderMembers();
  renderStatus();
}

client.addEventListener("buffers", renderBuffers);
client.addEventListener("switch", () => {
  renderHeader();
  renderMessages();
  renderMembers();
});
client.addEventListener("line", (ev) => {
  if (ev.detail.buffer.key === client.active) appendLine(ev.detail.line);
});
client.addEventListener("history", (ev) => {
  if (ev.detail.buffer.key === client.active) renderMessages({ keepPosition: true });
});
client.addEventListener("members", (ev) => {
  if (!ev.detail.buffer || ev.detail.buffer.key === client.active) renderMembers();
});
client.addEventListener("topic", (ev) => {
  if (ev.detail.buffer.key === client.active) renderHeader();
});
client.addEventListener("status", () => {
  renderStatus();
  renderBuffers();
});
client.addEventListener("caps", renderSearchBox);
client.addEventListener("registered", renderSearchBox);

// Older lines when the view is scrolled to its top.
$("messages").addEventListener("scroll", () => {
  const box = $("messages");
  if (box.scrollTop > NEAR_TOP_PX) return;
  const buf = client.activeBuffer();
  if (client.loadOlder(buf)) renderMessages({ keepPosition: true });
});

// -- commands ----------------------------------------------------------------------------------

function openQuery(nick) {
  client.ensureBuffer(nick, "query");
  client.setActive(nick);
}

function notice(text, kind = "info") {
  client.info(client.activeBuffer(), text, kind);
}

const HELP = [
  "/join #channel [key]  join a channel",
  "/part [#channel] [reason]  leave a channel",
  "/msg nick text  send a private message",
  "/query nick [text]  open a private conversation",
  "/me action  say an action",
  "/nick newnick  change your nickname",
  "/topic [text]  show or set the channel's topic",
  "/search words  search the history of this conversation",
  "/close  close this conversation",
  "/quote LINE  send a raw IRC line",
];

const COMMANDS = {
  join(args) {
    const [channel, key] = args.split(/\s+/);
    if (!channel) return notice("Usage: /join #channel [key]", "error");
    const name = client.isChannel(channel) ? channel : `#${channel}`;
    client.join(name, key);
  },
  part(args, buf) {
    let [channel, ...rest] = args.split(" ");
    if (!channel || !client.isChannel(channel)) {
      rest = args ? args.split(" ") : [];
      channel = buf.kind === "channel" ? buf.name : "";
    }
    if (!channel) return notice("Usage: /part #channel [reason]", "error");
    const target = client.buffer(channel);
    if (target && !target.joined) return client.closeBuffer(channel);
    if (rest.length) client.send("PART", channel, rest.join(" "));
    else client.send("PART", channel);
  },
  msg(args) {
    const m = /^(\S+)\s+(.+)$/.exec(args);
    if (!m) return notice("Usage: /msg nick text", "error");
    client.say(m[1], m[2]);
  },
  query(args) {
    const m = /^(\S+)(?:\s+(.+))?$/.exec(args);
    if (!m || client.isChannel(m[1])) return notice("Usage: /query nick [text]", "error");
    openQuery(m[1]);
    if (m[2]) client.say(m[1], m[2]);
  },
  me(args, buf) {
    if (buf.kind === "server") return notice("/me works in a channel or conversation", "error");
    if (args) client.say(buf.name, args, "action");
  },
  nick(args) {
    const [nick] = args.split(/\s+/);
    if (!nick) return notice("Usage: /nick newnick", "error");
    client.send("NICK", nick);
  },
  topic(args, buf) {
    if (buf.kind !== "channel") return notice("/topic works in a channel", "error");
    if (args) client.send("TOPIC", buf.name, args);
    else client.send("TOPIC", buf.name);
  },
  search(args) {
    $("search-input").value = args;
    runSearch();
  },
  close(args, buf) {
    if (buf.kind === "channel" && buf.joined) client.send("PART", buf.name);
    else client.closeBuffer(buf.name);
  },
  quote(args) {
    if (args) client.sendRaw(args);
  },
  help() {
    for (const line of HELP) notice(line);
  },
};
COMMANDS.j = COMMANDS.join;
COMMANDS.raw = COMMANDS.quote;

function submitInput(text) {
  const buf = client.activeBuffer();
  if (text.startsWith("/") && !text.startsWith("//")) {
    const m = /^\/(\S+)\s*(.*)$/.exec(text);
    const name = m ? m[1].toLowerCase() : "";
    const command = COMMANDS[name];
    if (!command) return notice(`Unknown command /${name} (try /help)`, "error");
    command(m[2].trim(), buf);
    return;
  }
  const body = text.startsWith("//") ? text.slice(1) : text;
  if (buf.kind === "server") return notice("This is the server window: /join a channel", "error");
  client.say(buf.name, body);
}

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("input");
  const text = input.value;
  if (!text.trim()) return;
  input.value = "";
  submitInput(text);
});

$("join-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const value = $("join-input").value.trim();
  if (!value) return;
  $("join-input").value = "";
  COMMANDS.join(value);
  document.body.classList.remove("sidebar-open");
});

// -- search -------------------------------------------------------------------------------------

function renderSearchBox() {
  const input = $("search-input");
  const available = client.searchAvailable;
  input.disabled = !available;
  $("search-scope").disabled = !available;
  input.placeholder = available ? "Search" : "Search unavailable";
  input.title = available ? "Search the history kept by the server"
    : "This server does not offer search (soju.im/search)";
}

function runSearch() {
  const text = $("search-input").value.trim();
  if (!text) return;
  const pane = $("results");
  const list = $("results-list");
  pane.hidden = false;
  list.replaceChildren();
  if (!client.searchAvailable) {
    $("results-title").textContent = "Search is unavailable on this server";
    return;
  }
  const buf = client.activeBuffer();
  const here = $("search-scope").value === "here" && buf.kind !== "server";
  const attrs = { text };
  if (here) attrs.in = buf.name;
  $("results-title").textContent = `Searching for “${text}”${here ? ` in ${buf.name}` : ""}…`;
  pane.dataset.query = text;
  client.search(attrs);
}

client.addEventListener("search", (ev) => {
  const list = $("results-list");
  const pane = $("results");
  pane.hidden = false;
  list.replaceChildren();
  const query = pane.dataset.query || "";
  if (ev.detail.error) {
    $("results-title").textContent = `Search failed: ${ev.detail.error}`;
    return;
  }
  const results = ev.detail.results;
  const n = results.length;
  $("results-title").textContent = `${n} ${n === 1 ? "result" : "results"} for “${query}”`;
  for (const line of results) {
    const li = el("li", "result");
    const head = el("div", "result-head");
    head.append(el("span", "result-target", line.target));
    head.append(el("time", "ts", line.time.toLocaleString()));
    li.append(head);
    const body = lineNode(line);
    body.classList.add("result-line");
    li.append(body);
    li.addEventListener("click", (e) => {
      if (e.target.closest("a")) return;
      const target = client.buffer(line.target)
        ?? (client.isChannel(line.target) ? null : client.ensureBuffer(line.target, "query"));
      if (!target) return;
      client.setActive(target.name);
      if (window.matchMedia("(max-width: 720px)").matches) $("results").hidden = true;
      showLine(line.msgid);
    });
    list.append(li);
  }
});

// The line a search result names, when it is loaded: brought into view and marked.
function showLine(msgid) {
  if (!msgid) return;
  const row = [...$("messages").querySelectorAll(".line")].find((e) => e.dataset.msgid === msgid);
  if (!row) return;
  row.scrollIntoView({ block: "center" });
  row.classList.add("flash");
  setTimeout(() => row.classList.remove("flash"), 2500);
}

$("search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  runSearch();
});
$("results-close").addEventListener("click", () => {
  $("results").hidden = true;
});

// -- small screens ---------------------------------------------------------------------------

$("menu-button").addEventListener("click", () => {
  document.body.classList.toggle("sidebar-open");
});
$("scrim").addEventListener("click", () => {
  document.body.classList.remove("sidebar-open", "members-open");
});
$("members-button").addEventListener("click", () => {
  document.body.classList.toggle("members-open");
});

window.addEventListener("beforeunload", () => {
  if (client.ws) client.disconnect("Page closed");
});

setupLogin();
if (client.active === SERVER_BUFFER) renderBuffers();
