// The message box: Enter sends, Shift+Enter starts a new line, Up edits the last own message,
// Escape cancels a reply. Typing is announced at most every 8 seconds. Files come from the
// attach button, a drop on the chat or a paste, and go with the next message (with progress).
import { P, can } from './permissions.js';
import { guildOfChannel, store } from './store.js';

export class Composer {
  constructor({ api, upload, messages, onError }) {
    this.api = api;
    this.upload = upload;
    this.files = [];
    const fileInput = document.getElementById('file-input');
    fileInput.addEventListener('change', () => { this.addFiles(fileInput.files); fileInput.value = ''; });
    const chat = document.querySelector('.chat');
    chat.addEventListener('dragover', (event) => { if (event.dataTransfer?.types.includes('Files')) { event.preventDefault(); chat.classList.add('dragging'); } });
    chat.addEventListener('dragleave', (event) => { if (event.target === chat || !chat.contains(event.relatedTarget)) chat.classList.remove('dragging'); });
    chat.addEventListener('drop', (event) => {
      chat.classList.remove('dragging');
      if (!event.dataTransfer?.files.length) return;
      event.preventDefault();
      this.addFiles(event.dataTransfer.files);
    });
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
    this.input.addEventListener('paste', (event) => {
      if (event.clipboardData?.files.length) { event.preventDefault(); this.addFiles(event.clipboardData.files); }
    });
  }

  addFiles(list) {
    this.files.push(...[...list].slice(0, 10 - this.files.length));
    this.renderFiles();
    this.input.focus();
  }

  renderFiles() {
    const box = document.getElementById('pending-files');
    box.hidden = this.files.length === 0;
    box.replaceChildren(...this.files.map((file, index) => {
      const chip = document.createElement('span');
      chip.textContent = file.name;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = '×';
      remove.title = `Remove ${file.name}`;
      remove.addEventListener('click', () => { this.files.splice(index, 1); this.renderFiles(); });
      chip.append(remove);
      return chip;
    }));
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
    document.getElementById('attach').hidden = !allowed || (guild && channel && !can(guild, P.ATTACH_FILES, channel));
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
    const files = this.files;
    if ((!content && files.length === 0) || !store.channelId) return;
    const body = { content, nonce: String(Date.now()) };
    if (this.replyTo) body.message_reference = { message_id: this.replyTo.id, channel_id: this.replyTo.channel_id };
    const channelId = store.channelId;
    this.input.value = '';
    this.files = [];
    this.renderFiles();
    this.setReply(null);
    this.lastTyping = 0;
    const progress = document.getElementById('upload-progress');
    try {
      if (files.length === 0) {
        this.messages.upsert(await this.api('POST', `/channels/${channelId}/messages`, body));
      } else {
        progress.hidden = false;
        progress.value = 0;
        this.messages.upsert(await this.upload(`/channels/${channelId}/messages`, body, files, (done) => { progress.value = done; }));
      }
    } catch (error) {
      this.input.value = content;
      this.files = files;
      this.renderFiles();
      this.onError(error);
    } finally {
      progress.hidden = true;
    }
  }
}
