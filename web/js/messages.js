// The current channel's messages: the latest page first, older pages as the reader scrolls up
// (keeping their place), live inserts, edits and deletions, and inline editing.
import { formatSize, formatTime, localURL, renderContent } from './format.js';
import { P, can } from './permissions.js';
import { guildOfChannel, historyOf, mergeMessages, nameOf, store } from './store.js';

const PAGE = 50;
/** The reaction picker's emoji. */
export const COMMON_EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀', '✅', '🔥'];
const PINNED_NOTICE = 6;

export class MessageView {
  constructor({ api, onReply, onError }) {
    this.api = api;
    this.onReply = onReply;
    this.onError = onError;
    this.container = document.getElementById('messages');
    this.container.addEventListener('scroll', () => {
      if (this.container.scrollTop < 100) this.loadOlder();
    });
  }

  async show(channelId) {
    this.channelId = channelId;
    this.container.replaceChildren();
    const history = historyOf(channelId);
    if (!history.loaded) await this.loadLatest(channelId);
    if (this.channelId !== channelId) return;
    this.renderAll();
    this.container.scrollTop = this.container.scrollHeight;
    await this.fillScreen();
  }

  /** Reads the newest page and merges it in: on first view, and after a session was lost. */
  async loadLatest(channelId) {
    const page = await this.api('GET', `/channels/${channelId}/messages?limit=${PAGE}`);
    const history = mergeMessages(channelId, page);
    if (!history.loaded) history.complete = page.length < PAGE;
    history.loaded = true;
  }

  async refresh() {
    if (!this.channelId) return;
    await this.loadLatest(this.channelId);
    this.renderAll();
    this.container.scrollTop = this.container.scrollHeight;
  }

  /** A channel shorter than the window cannot be scrolled: load older pages until it can. */
  async fillScreen() {
    while (this.container.scrollHeight <= this.container.clientHeight && !historyOf(this.channelId).complete) {
      if (!(await this.loadOlder())) break;
    }
  }

  async loadOlder() {
    const channelId = this.channelId;
    const history = historyOf(channelId);
    if (this.loading || history.complete || !history.loaded || history.messages.length === 0) return false;
    this.loading = true;
    try {
      const page = await this.api('GET', `/channels/${channelId}/messages?limit=${PAGE}&before=${history.messages[0].id}`);
      mergeMessages(channelId, page);
      if (page.length < PAGE) history.complete = true;
      if (this.channelId !== channelId) return false;
      const heightBefore = this.container.scrollHeight;
      const fragment = document.createDocumentFragment();
      if (history.complete) fragment.append(startMarker());
      for (const message of [...page].reverse()) fragment.append(this.element(message));
      this.container.prepend(fragment);
      this.container.scrollTop += this.container.scrollHeight - heightBefore;
      return page.length > 0;
    } catch (error) {
      this.onError(error);
      return false;
    } finally {
      this.loading = false;
    }
  }

  renderAll() {
    const history = historyOf(this.channelId);
    const nodes = history.messages.map((message) => this.element(message));
    if (history.complete) nodes.unshift(startMarker());
    this.container.replaceChildren(...nodes);
  }

  /** A created or edited message, live. */
  upsert(message) {
    const history = historyOf(message.channel_id);
    if (!history.loaded) return;
    const previous = history.messages.find((m) => m.id === message.id);
    // Reactions change by their own events (an update carries none): kept as they are.
    mergeMessages(message.channel_id, [previous ? { ...previous, ...message, reactions: message.reactions ?? previous.reactions } : message]);
    if (message.channel_id !== this.channelId) return;
    const merged = history.messages.find((m) => m.id === message.id);
    const existing = this.container.querySelector(`[data-id="${message.id}"]`);
    if (existing) return existing.replaceWith(this.element(merged));
    const atBottom = this.container.scrollHeight - this.container.scrollTop - this.container.clientHeight < 60;
    const next = history.messages[history.messages.indexOf(merged) + 1];
    const nextNode = next && this.container.querySelector(`[data-id="${next.id}"]`);
    this.container.insertBefore(this.element(merged), nextNode ?? null);
    if (atBottom || merged.author.id === store.me?.id) this.container.scrollTop = this.container.scrollHeight;
  }

  remove(channelId, id) {
    const history = historyOf(channelId);
    history.messages = history.messages.filter((m) => m.id !== id);
    if (channelId === this.channelId) this.container.querySelector(`[data-id="${id}"]`)?.remove();
  }

  lastOwnMessage() {
    return [...historyOf(this.channelId).messages].reverse().find((m) => m.author.id === store.me?.id);
  }

  element(message) {
    const node = document.createElement('div');
    node.className = 'msg';
    node.dataset.id = message.id;
    if (message.type === PINNED_NOTICE) {
      node.classList.add('system');
      node.textContent = `📌 ${message.author.global_name ?? message.author.username} pinned a message to this channel.`;
      return node;
    }
    if (message.referenced_message) {
      const quote = document.createElement('div');
      quote.className = 'quote';
      const original = message.referenced_message;
      quote.append(`↪ ${original.author.global_name ?? original.author.username}: `, renderContent(original.content.slice(0, 200), nameOf));
      node.append(quote);
    }
    const meta = document.createElement('div');
    meta.className = 'meta';
    const author = document.createElement('span');
    author.className = 'author';
    author.textContent = message.author.global_name ?? message.author.username;
    const time = document.createElement('time');
    time.dateTime = message.timestamp;
    time.textContent = formatTime(message.timestamp);
    meta.append(author, time);
    if (message.edited_timestamp) meta.append(' (edited)');
    if (message.pinned) {
      const pin = document.createElement('span');
      pin.className = 'pinned';
      pin.title = 'Pinned';
      pin.textContent = ' 📌';
      meta.append(pin);
    }
    const content = document.createElement('div');
    content.className = 'content';
    content.append(renderContent(message.content, nameOf));
    node.append(meta, content);
    if (message.attachments?.length) node.append(attachments(message.attachments));
    for (const embed of message.embeds ?? []) node.append(embedElement(embed));
    node.append(this.reactions(message), this.actions(message));
    return node;
  }

  /** Reaction chips (click to add or take back one's own) and the picker. */
  reactions(message) {
    const bar = document.createElement('div');
    bar.className = 'reactions';
    for (const reaction of message.reactions ?? []) {
      const chip = button(`${reaction.emoji.name} ${reaction.count}`, 'reaction', () => this.toggleReaction(message, reaction.emoji.name, reaction.me));
      chip.classList.toggle('mine', reaction.me);
      chip.dataset.emoji = reaction.emoji.name;
      chip.title = reaction.me ? 'Remove your reaction' : 'React with this too';
      bar.append(chip);
    }
    return bar;
  }

  async toggleReaction(message, emoji, mine) {
    try {
      await this.api(mine ? 'DELETE' : 'PUT', `/channels/${message.channel_id}/messages/${message.id}/reactions/${encodeURIComponent(emoji)}/@me`);
    } catch (error) {
      this.onError(error);
    }
  }

  openPicker(message, anchor) {
    const open = anchor.parentElement.querySelector('.picker');
    if (open) return open.remove();
    const picker = document.createElement('div');
    picker.className = 'picker';
    for (const emoji of COMMON_EMOJI) {
      picker.append(button(emoji, 'pick', () => {
        picker.remove();
        const mine = message.reactions?.find((r) => r.emoji.name === emoji)?.me ?? false;
        if (!mine) this.toggleReaction(message, emoji, false);
      }));
    }
    anchor.after(picker);
  }

  /** A reaction event, applied to the stored message and its element. */
  react(type, d) {
    const history = historyOf(d.channel_id);
    const message = history.messages.find((m) => m.id === d.message_id);
    if (!message) return;
    let reactions = message.reactions ?? [];
    const mine = d.user_id === store.me?.id;
    if (type === 'MESSAGE_REACTION_ADD') {
      const found = reactions.find((r) => r.emoji.name === d.emoji.name);
      if (found) { found.count += 1; found.me ||= mine; } else reactions.push({ emoji: d.emoji, count: 1, me: mine });
    } else if (type === 'MESSAGE_REACTION_REMOVE') {
      const found = reactions.find((r) => r.emoji.name === d.emoji.name);
      if (found) { found.count -= 1; if (mine) found.me = false; }
      reactions = reactions.filter((r) => r.count > 0);
    } else if (type === 'MESSAGE_REACTION_REMOVE_EMOJI') {
      reactions = reactions.filter((r) => r.emoji.name !== d.emoji.name);
    } else {
      reactions = [];
    }
    message.reactions = reactions.length ? reactions : undefined;
    if (d.channel_id === this.channelId) this.container.querySelector(`[data-id="${message.id}"]`)?.replaceWith(this.element(message));
  }

  async setPinned(message, pinned) {
    try {
      await this.api(pinned ? 'PUT' : 'DELETE', `/channels/${message.channel_id}/messages/pins/${message.id}`);
    } catch (error) {
      this.onError(error);
    }
  }

  actions(message) {
    const bar = document.createElement('div');
    bar.className = 'actions';
    bar.append(button('Reply', 'reply', () => this.onReply(message)));
    const react = button('React', 'react', () => this.openPicker(message, react));
    bar.append(react);
    const guild = guildOfChannel(message.channel_id);
    const channel = guild?.channels.get(message.channel_id);
    if (!guild || can(guild, P.MANAGE_MESSAGES, channel)) {
      bar.append(message.pinned ? button('Unpin', 'unpin', () => this.setPinned(message, false))
        : button('Pin', 'pin', () => this.setPinned(message, true)));
    }
    if (message.author.id === store.me?.id) {
      bar.append(button('Edit', 'edit', () => this.startEdit(message.id)));
      bar.append(button('Delete', 'delete', () => this.delete(message)));
    }
    return bar;
  }

  async delete(message) {
    try {
      await this.api('DELETE', `/channels/${message.channel_id}/messages/${message.id}`);
      this.remove(message.channel_id, message.id);
    } catch (error) {
      this.onError(error);
    }
  }

  /** Inline editing: Enter saves, Shift+Enter is a new line, Escape cancels. */
  startEdit(id) {
    const message = historyOf(this.channelId).messages.find((m) => m.id === id);
    const node = this.container.querySelector(`[data-id="${id}"]`);
    if (!message || !node || node.querySelector('.edit-box')) return;
    const content = node.querySelector('.content');
    const box = document.createElement('textarea');
    box.className = 'edit-box';
    box.value = message.content;
    box.maxLength = 2000;
    content.replaceWith(box);
    box.focus();
    box.addEventListener('keydown', async (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        box.replaceWith(content);
        document.getElementById('input').focus();
      } else if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        const text = box.value.trim();
        if (!text || text === message.content) return box.replaceWith(content);
        try {
          this.upsert(await this.api('PATCH', `/channels/${message.channel_id}/messages/${id}`, { content: text }));
          document.getElementById('input').focus();
        } catch (error) {
          this.onError(error);
        }
      }
    });
  }
}

function button(label, action, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.dataset.action = action;
  b.addEventListener('click', onClick);
  return b;
}

/** A bot's rich embed: colour bar, author, linked title, description, fields and footer (text only). */
function embedElement(embed) {
  const box = document.createElement('div');
  box.className = 'embed';
  if (embed.color !== undefined && embed.color !== null) box.style.borderLeftColor = `#${Number(embed.color).toString(16).padStart(6, '0')}`;
  const line = (className, text) => {
    const part = document.createElement('div');
    part.className = className;
    part.append(text);
    return part;
  };
  if (embed.author?.name) box.append(line('embed-author', embed.author.name));
  if (embed.title) {
    let title = embed.title;
    if (embed.url && /^https?:\/\//.test(embed.url)) {
      title = document.createElement('a');
      title.href = embed.url;
      title.target = '_blank';
      title.rel = 'noopener noreferrer';
      title.textContent = embed.title;
    }
    box.append(line('embed-title', title));
  }
  if (embed.description) box.append(line('embed-description', renderContent(embed.description, nameOf)));
  if (embed.fields?.length) {
    const fields = document.createElement('div');
    fields.className = 'embed-fields';
    for (const field of embed.fields) {
      const cell = document.createElement('div');
      cell.className = field.inline ? 'embed-field inline' : 'embed-field';
      cell.append(line('embed-field-name', field.name), line('embed-field-value', renderContent(field.value, nameOf)));
      fields.append(cell);
    }
    box.append(fields);
  }
  if (embed.footer?.text) box.append(line('embed-footer', embed.footer.text));
  return box;
}

/** Images as previews (their size reserved, so loading them does not move the page), other files as download links. */
function attachments(list) {
  const box = document.createElement('div');
  box.className = 'attachments';
  for (const file of list) {
    const href = localURL(file.url);
    if (file.content_type?.startsWith('image/') && file.width && file.height) {
      const link = document.createElement('a');
      link.href = href;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      const image = document.createElement('img');
      image.src = href;
      image.alt = file.description ?? file.filename;
      image.width = Math.min(file.width, 320);
      image.height = Math.round(file.height * (image.width / file.width));
      image.loading = 'lazy';
      link.append(image);
      box.append(link);
    } else {
      const link = document.createElement('a');
      link.className = 'file';
      link.href = href;
      link.download = file.filename;
      link.textContent = `📄 ${file.filename} (${formatSize(file.size)})`;
      box.append(link);
    }
  }
  return box;
}

function startMarker() {
  const marker = document.createElement('div');
  marker.className = 'history-start';
  marker.textContent = 'This is the start of the channel.';
  return marker;
}
