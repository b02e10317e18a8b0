// mIRC formatting and links rendered as DOM nodes. Text only ever enters the
// page through text nodes; styles are CSS classes (the CSP forbids style attributes),
// except hex colours (\x04RRGGBB), which no class list can hold: those are set through
// the CSSOM (element.style.color = ...), which style-src 'self' allows, unlike a style
// attribute in markup or setAttribute("style").

const BOLD = "\x02";
const COLOR = "\x03";
const HEX_COLOR = "\x04";
const RESET = "\x0f";
const MONOSPACE = "\x11";
const REVERSE = "\x16";
const ITALIC = "\x1d";
const STRIKE = "\x1e";
const UNDERLINE = "\x1f";
const CODES = /[\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f]/;

const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;

function emptyStyle() {
  return { bold: false, italic: false, underline: false, strike: false, mono: false,
    reverse: false, fg: null, bg: null };
}

// Split a formatted text into runs of { text, style }.
export function runs(text) {
  const out = [];
  let style = emptyStyle();
  let buf = "";
  const flush = () => {
    if (buf) out.push({ text: buf, style: { ...style } });
    buf = "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (!CODES.test(c)) {
      buf += c;
      continue;
    }
    flush();
    switch (c) {
      case BOLD: style.bold = !style.bold; break;
      case ITALIC: style.italic = !style.italic; break;
      case UNDERLINE: style.underline = !style.underline; break;
      case STRIKE: style.strike = !style.strike; break;
      case MONOSPACE: style.mono = !style.mono; break;
      case REVERSE: style.reverse = !style.reverse; break;
      case RESET: style = emptyStyle(); break;
      case COLOR: {
        const m = /^(\d{1,2})(?:,(\d{1,2}))?/.exec(text.slice(i + 1));
        if (!m) {
          style.fg = null;
          style.bg = null;
          break;
        }
        style.fg = colour(m[1]);
        if (m[2] !== undefined) style.bg = colour(m[2]);
        i += m[0].length;
        break;
      }
      case HEX_COLOR: {
        // fg and bg hold a palette number or a "#rrggbb" string; no digits: reset.
        const m = /^([0-9a-f]{6})(?:,([0-9a-f]{6}))?/i.exec(text.slice(i + 1));
        if (!m) {
          style.fg = null;
          style.bg = null;
          break;
        }
        style.fg = `#${m[1].toLowerCase()}`;
        if (m[2] !== undefined) style.bg = `#${m[2].toLowerCase()}`;
        i += m[0].length;
        break;
      }
    }
  }
  flush();
  return out;
}

function colour(digits) {
  const n = Number(digits);
  return n >= 0 && n <= 98 ? n : null; // 99 is "default"
}

export function stripFormatting(text) {
  return runs(text).map((r) => r.text).join("");
}

// The run's colours after reverse: a palette number, a "#rrggbb" string, or null.
function coloursOf(style) {
  return style.reverse ? { fg: style.bg, bg: style.fg } : { fg: style.fg, bg: style.bg };
}

function classesOf(style) {
  const cls = [];
  if (style.bold) cls.push("irc-b");
  if (style.italic) cls.push("irc-i");
  if (style.underline) cls.push("irc-u");
  if (style.strike) cls.push("irc-s");
  if (style.mono) cls.push("irc-m");
  if (style.reverse) cls.push("irc-rev");
  const { fg, bg } = coloursOf(style);
  if (typeof fg === "number") cls.push(`irc-fg${fg}`);
  if (typeof bg === "number") cls.push(`irc-bg${bg}`);
  return cls;
}

// A link only for http(s) URLs that parse; anything else stays text.
export function safeHref(candidate) {
  let url;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

function appendLinked(parent, text) {
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let found = m[0];
    // Trailing punctuation is usually the sentence's, not the URL's.
    const trimmed = found.replace(/[.,;:!?)\]}'’]+$/, "");
    found = trimmed || found;
    const href = safeHref(found);
    if (!href) continue;
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    const a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.textContent = found;
    parent.append(a);
    last = m.index + found.length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

// A DocumentFragment holding the rendered text.
export function render(text) {
  const frag = document.createDocumentFragment();
  // A link may span style changes: find links per run, which is how most clients behave.
  for (const run of runs(text)) {
    const cls = classesOf(run.style);
    const { fg, bg } = coloursOf(run.style);
    const hexFg = typeof fg === "string";
    const hexBg = typeof bg === "string";
    let target = frag;
    if (cls.length || hexFg || hexBg) {
      const span = document.createElement("span");
      if (cls.length) span.className = cls.join(" ");
      // CSSOM property writes: allowed by the CSP (values are "#" + 6 hex digits).
      if (hexFg) span.style.color = fg;
      if (hexBg) span.style.backgroundColor = bg;
      frag.append(span);
      target = span;
    }
    appendLinked(target, run.text);
  }
  return frag;
}
