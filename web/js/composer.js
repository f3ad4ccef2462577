// The message box: Enter sends, Shift+Enter starts a new line, Up edits the last own message,
// Escape cancels a reply. Typing is announced at most every 8 seconds.
import { P, can } from './permissions.js';
import { guildOfChannel, store } from './store.js';

export class Composer {
  constructor({ api, messages, onError }) {
    this.api = api;
    this.messages = messages;
    this.onError = onError;
    this.input = document.getElementById('input');
    this.replyBar = document.getElementById('reply-bar');
    this.replyTo = null;
    this.lastTyping = 0;
    document.getElementById('composer').addEventListener('submit', (event) => { event.preventDefault(); this.send(); });
    document.getElementById('cancel-reply').addEventListener('click', () => this.setReply(null));
    this.input.addEventListener('keydown', (event) => this.keydown(event));
    this.input.addEventListener('input', () => this.typing());
  }

  keydown(event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.send();
    } else if (event.key === 'ArrowUp' && this.input.value === '') {
      const last = this.messages.lastOwnMessage();
      if (last) { event.preventDefault(); this.messages.startEdit(last.id); }
    } else if (event.key === 'Escape') {
      this.setReply(null);
    }
  }

  /** Shows the box only where the user may send, and says why not elsewhere (as Discord does). */
  updatePermission() {
    const guild = guildOfChannel(store.channelId);
    const channel = guild?.channels.get(store.channelId);
    const member = guild?.members.get(store.me?.id);
    const timedOut = member?.communication_disabled_until && Date.parse(member.communication_disabled_until) > Date.now();
    const allowed = !guild || !channel || can(guild, P.SEND_MESSAGES, channel);
    this.input.hidden = !allowed;
    document.querySelector('#composer button[type=submit]').hidden = !allowed;
    const notice = document.getElementById('cannot-send');
    notice.hidden = allowed;
    notice.textContent = timedOut ? `You are timed out until ${new Date(member.communication_disabled_until).toLocaleTimeString()}.`
      : 'You do not have permission to send messages in this channel.';
  }

  setReply(message) {
    this.replyTo = message;
    this.replyBar.hidden = !message;
    if (message) {
      document.getElementById('reply-text').textContent =
        `Replying to ${message.author.global_name ?? message.author.username}: ${message.content.slice(0, 80)}`;
      this.input.focus();
    }
  }

  typing() {
    const now = Date.now();
    if (!store.channelId || now - this.lastTyping < 8000 || this.input.value === '') return;
    this.lastTyping = now;
    this.api('POST', `/channels/${store.channelId}/typing`).catch(() => {});
  }

  async send() {
    const content = this.input.value.trim();
    if (!content || !store.channelId) return;
    const body = { content, nonce: String(Date.now()) };
    if (this.replyTo) body.message_reference = { message_id: this.replyTo.id, channel_id: this.replyTo.channel_id };
    const channelId = store.channelId;
    this.input.value = '';
    this.setReply(null);
    this.lastTyping = 0;
    try {
      this.messages.upsert(await this.api('POST', `/channels/${channelId}/messages`, body));
    } catch (error) {
      this.input.value = content;
      this.onError(error);
    }
  }
}
