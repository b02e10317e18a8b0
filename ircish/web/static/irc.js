// The IRC line: parsing, formatting, tag escaping, casemapping, SASL PLAIN.
// Plain functions, no DOM: the rest of the client builds on these.

const TAG_UNESCAPES = { ":": ";", s: " ", r: "\r", n: "\n", "\\": "\\" };

export function unescapeTag(value) {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c !== "\\") {
      out += c;
      continue;
    }
    i++;
    if (i >= value.length) break; // a lone trailing backslash is dropped
    out += TAG_UNESCAPES[value[i]] ?? value[i];
  }
  return out;
}

export function escapeTag(value) {
  return value.replace(/[\\; \r\n]/g, (c) =>
    ({ "\\": "\\\\", ";": "\\:", " ": "\\s", "\r": "\\r", "\n": "\\n" })[c],
  );
}

// One received line as { tags, source, nick, command, params }.
export function parseLine(line) {
  const msg = { tags: {}, source: "", nick: "", command: "", params: [] };
  let rest = line.replace(/[\r\n]+$/, "");
  if (rest.startsWith("@")) {
    const end = rest.indexOf(" ");
    const raw = end < 0 ? rest.slice(1) : rest.slice(1, end);
    rest = end < 0 ? "" : rest.slice(end + 1).replace(/^ +/, "");
    for (const item of raw.split(";")) {
      if (!item) continue;
      const eq = item.indexOf("=");
      const key = eq < 0 ? item : item.slice(0, eq);
      msg.tags[key] = eq < 0 ? "" : unescapeTag(item.slice(eq + 1));
    }
  }
  if (rest.startsWith(":")) {
    const end = rest.indexOf(" ");
    msg.source = end < 0 ? rest.slice(1) : rest.slice(1, end);
    rest = end < 0 ? "" : rest.slice(end + 1).replace(/^ +/, "");
    msg.nick = msg.source.split("!")[0].split("@")[0];
  }
  while (rest.length) {
    if (rest.startsWith(":")) {
      msg.params.push(rest.slice(1));
      break;
    }
    const end = rest.indexOf(" ");
    if (end < 0) {
      msg.params.push(rest);
      break;
    }
    msg.params.push(rest.slice(0, end));
    rest = rest.slice(end + 1).replace(/^ +/, "");
  }
  msg.command = (msg.params.shift() || "").toUpperCase();
  return msg;
}

// A line to send: the last parameter gets a colon when it needs one. Parameters
// never carry CR, LF or NUL: they are stripped so a pasted text cannot inject a line.
export function formatLine(command, ...params) {
  const clean = params.map((p) => String(p).replace(/[\r\n\0]/g, " "));
  const parts = [command];
  clean.forEach((p, i) => {
    const last = i === clean.length - 1;
    if (last && (p === "" || p.includes(" ") || p.startsWith(":"))) parts.push(":" + p);
    else parts.push(p);
  });
  return parts.join(" ");
}

// Casemapping as the server names it in ISUPPORT CASEMAPPING.
export function makeCasefold(mapping) {
  if (mapping === "ascii") return (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const strict = mapping === "strict-rfc1459";
  return (s) =>
    s.replace(/[A-Z[\]\\^]/g, (c) => {
      if (c === "^" && strict) return c;
      return { "[": "{", "]": "}", "\\": "|", "^": "~" }[c] ?? c.toLowerCase();
    });
}

function base64Utf8(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

// The AUTHENTICATE payloads for SASL PLAIN: base64 in chunks of 400 bytes, and
// a lone "+" when the last chunk was exactly 400 bytes long (or the payload empty).
export function saslPlainChunks(account, password) {
  const encoded = base64Utf8(`${account}\0${account}\0${password}`);
  const chunks = [];
  for (let i = 0; i < encoded.length; i += 400) chunks.push(encoded.slice(i, i + 400));
  if (chunks.length === 0 || chunks[chunks.length - 1].length === 400) chunks.push("+");
  return chunks;
}

// CAP LS values: "name[=value]" words, possibly over several lines.
export function parseCaps(text) {
  const caps = new Map();
  for (const word of text.split(" ")) {
    if (!word) continue;
    const eq = word.indexOf("=");
    caps.set(eq < 0 ? word : word.slice(0, eq), eq < 0 ? "" : word.slice(eq + 1));
  }
  return caps;
}

// The attribute string of a soju.im/search SEARCH: key=value pairs joined with
// ";", each value escaped like a message tag value.
export function searchAttributes(attrs) {
  return Object.entries(attrs)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `${k}=${escapeTag(String(v))}`)
    .join(";");
}
