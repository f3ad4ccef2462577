// Message text to DOM nodes. Text is only ever placed with textContent, never parsed as HTML;
// links and mentions become elements built here.

const TOKEN = /<@!?(\d+)>|(https?:\/\/[^\s<>"']+)/g;

export function renderContent(text, nameOf) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    if (match.index > last) fragment.append(text.slice(last, match.index));
    if (match[1]) {
      const mention = document.createElement('span');
      mention.className = 'mention';
      mention.textContent = `@${nameOf(match[1]) ?? 'unknown'}`;
      fragment.append(mention);
    } else {
      const link = document.createElement('a');
      link.href = match[2];
      link.textContent = match[2];
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      fragment.append(link);
    }
    last = match.index + match[0].length;
  }
  if (last < text.length) fragment.append(text.slice(last));
  return fragment;
}

export function formatTime(timestamp) {
  const date = new Date(timestamp);
  const today = new Date().toDateString() === date.toDateString();
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return today ? time : `${date.toLocaleDateString()} ${time}`;
}
