// Message text to DOM nodes, with the markdown Discord renders: code blocks and inline code,
// quotes, bold, italics, underline, strikethrough, spoilers, links and mentions. Text is only
// ever placed with textContent or as text nodes, never parsed as HTML.

const FENCE = /```(?:([\w+-]{1,20})?\n)?([\s\S]*?)```/g;

// Inline markers, earliest first; on a tie the earlier rule wins (** before *, __ before _).
const INLINE = [
  ['code', /`([^`\n]+)`/],
  ['bold', /\*\*([\s\S]+?)\*\*/],
  ['underline', /__([\s\S]+?)__/],
  ['italic', /\*([^*\s](?:[^*]*?[^*\s])?)\*|\b_([^_]+?)_\b/],
  ['strike', /~~([\s\S]+?)~~/],
  ['spoiler', /\|\|([\s\S]+?)\|\|/],
  ['mention', /<@!?(\d+)>/],
  ['link', /https?:\/\/[^\s<>"']+/],
];
const TAG = { bold: 'strong', underline: 'u', italic: 'em', strike: 's' };

export function renderContent(text, nameOf) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(FENCE)) {
    if (match.index > last) fragment.append(blocks(text.slice(last, match.index), nameOf));
    const pre = document.createElement('pre');
    const code = document.createElement('code');
    if (match[1]) code.dataset.language = match[1];
    code.textContent = match[2].replace(/\n$/, '');
    pre.append(code);
    fragment.append(pre);
    last = match.index + match[0].length;
  }
  if (last < text.length) fragment.append(blocks(text.slice(last), nameOf));
  return fragment;
}

/** Lines starting with "> " are a quote; the rest is inline text. */
function blocks(text, nameOf) {
  const fragment = document.createDocumentFragment();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('> ')) {
      const quoted = [];
      while (i < lines.length && lines[i].startsWith('> ')) quoted.push(lines[i++].slice(2));
      i--;
      const quote = document.createElement('blockquote');
      quote.append(inline(quoted.join('\n'), nameOf));
      fragment.append(quote);
    } else {
      fragment.append(inline(lines[i] + (i < lines.length - 1 ? '\n' : ''), nameOf));
    }
  }
  return fragment;
}

function inline(text, nameOf, depth = 0) {
  const fragment = document.createDocumentFragment();
  let rest = text;
  while (rest) {
    let best = null;
    for (const [kind, pattern] of INLINE) {
      const match = pattern.exec(rest);
      if (match && (!best || match.index < best.match.index)) best = { kind, match };
    }
    if (!best || depth > 8) {
      fragment.append(rest);
      break;
    }
    const { kind, match } = best;
    if (match.index > 0) fragment.append(rest.slice(0, match.index));
    fragment.append(element(kind, match, nameOf, depth));
    rest = rest.slice(match.index + match[0].length);
  }
  return fragment;
}

function element(kind, match, nameOf, depth) {
  if (kind === 'code') {
    const code = document.createElement('code');
    code.textContent = match[1];
    return code;
  }
  if (kind === 'mention') {
    const mention = document.createElement('span');
    mention.className = 'mention';
    mention.textContent = `@${nameOf(match[1]) ?? 'unknown'}`;
    return mention;
  }
  if (kind === 'link') {
    const link = document.createElement('a');
    link.href = match[0];
    link.textContent = match[0];
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    return link;
  }
  const inner = match[1] ?? match[2];
  if (kind === 'spoiler') {
    const spoiler = document.createElement('span');
    spoiler.className = 'spoiler';
    spoiler.title = 'Spoiler: click to show';
    spoiler.append(inline(inner, nameOf, depth + 1));
    spoiler.addEventListener('click', () => spoiler.classList.add('revealed'));
    return spoiler;
  }
  const node = document.createElement(TAG[kind]);
  node.append(inline(inner, nameOf, depth + 1));
  return node;
}

export function formatTime(timestamp) {
  const date = new Date(timestamp);
  const today = new Date().toDateString() === date.toDateString();
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return today ? time : `${date.toLocaleDateString()} ${time}`;
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** An attachment's URL on this page's own edge (every edge serves every attachment). */
export function localURL(url) {
  try {
    const parsed = new URL(url, location.href);
    return parsed.pathname + parsed.search;
  } catch {
    return '#';
  }
}
