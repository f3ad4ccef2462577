// The current channel's messages: the latest page first, older pages as the reader scrolls up
// (keeping their place), live inserts, edits and deletions, and inline editing.
import { formatTime, renderContent } from './format.js';
import { historyOf, mergeMessages, nameOf, store } from './store.js';

const PAGE = 50;

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
    mergeMessages(message.channel_id, [previous ? { ...previous, ...message } : message]);
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
    const content = document.createElement('div');
    content.className = 'content';
    content.append(renderContent(message.content, nameOf));
    node.append(meta, content, this.actions(message));
    return node;
  }

  actions(message) {
    const bar = document.createElement('div');
    bar.className = 'actions';
    bar.append(button('Reply', 'reply', () => this.onReply(message)));
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

function startMarker() {
  const marker = document.createElement('div');
  marker.className = 'history-start';
  marker.textContent = 'This is the start of the channel.';
  return marker;
}
