// Workspaces and the current workspace's channels.
import { P, can } from './permissions.js';
import { dmName, orderedChannels, readStateOf, store } from './store.js';

export function renderSidebar({ onGuild, onChannel, memberMenu, onMessage }) {
  renderSidebar.memberMenu = memberMenu;
  renderSidebar.onMessage = onMessage;
  // Direct messages, latest first; each counts as a mention, as in Discord.
  const dms = [...store.dms.values()].sort((a, b) => ((BigInt(b.last_message_id ?? b.id) > BigInt(a.last_message_id ?? a.id)) ? 1 : -1));
  document.getElementById('dms').replaceChildren(...dms.map((dm) => {
    const state = readStateOf(dm.id);
    return item(`@ ${dmName(dm)}`, dm.id === store.channelId, () => onChannel(dm.id), `dm-${dm.id}`,
      { unread: dm.id !== store.channelId && state.unread_count > 0, mentions: dm.id === store.channelId ? 0 : state.unread_count });
  }));
  const guildList = document.getElementById('guilds');
  guildList.replaceChildren(...[...store.guilds.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((guild) => {
      const unread = [...guild.channels.keys()].some((id) => id !== store.channelId && readStateOf(id).unread_count > 0);
      return item(guild.name, guild.id === store.guildId, () => onGuild(guild.id), `guild-${guild.id}`, { unread });
    }));

  const channelList = document.getElementById('channels');
  const guild = store.guilds.get(store.guildId);
  const rows = [];
  for (const group of guild ? orderedChannels(guild) : []) {
    if (group.category) {
      const header = document.createElement('li');
      header.className = 'category';
      header.textContent = group.category.name;
      rows.push(header);
    }
    // As Discord's client: channels one cannot view are not listed (nor their empty categories).
    const visible = group.channels.filter((channel) => can(guild, P.VIEW_CHANNEL, channel));
    if (group.category && visible.length === 0 && !can(guild, P.VIEW_CHANNEL, group.category)) rows.pop();
    for (const channel of visible) {
      const state = readStateOf(channel.id);
      rows.push(item(`# ${channel.name}`, channel.id === store.channelId, () => onChannel(channel.id), `channel-${channel.id}`,
        { unread: channel.id !== store.channelId && state.unread_count > 0, mentions: state.mention_count }));
    }
  }
  channelList.replaceChildren(...rows);
}

/** The workspace's members, online first, each with a status dot. */
export function renderMembers() {
  const guild = store.guilds.get(store.guildId);
  const members = guild ? [...guild.members.values()] : [];
  const presenceOf = (m) => (m.user.id === store.me?.id ? store.ownPresence : store.presences.get(m.user.id));
  const rank = { online: 0, idle: 1, dnd: 2 };
  members.sort((a, b) => (rank[presenceOf(a)?.status] ?? 3) - (rank[presenceOf(b)?.status] ?? 3)
    || (a.user.username).localeCompare(b.user.username));
  const online = members.filter((m) => presenceOf(m)).length;
  document.getElementById('members-title').textContent = `Members — ${online} online`;
  document.getElementById('members').replaceChildren(...members.map((member) => {
    const presence = presenceOf(member);
    const li = document.createElement('li');
    li.dataset.user = member.user.id;
    li.dataset.status = presence?.status ?? 'offline';
    if (!presence) li.classList.add('offline');
    const dot = document.createElement('span');
    dot.className = `dot ${presence?.status ?? 'offline'}`;
    dot.title = presence?.status ?? 'offline';
    const name = document.createElement('span');
    name.textContent = member.nick ?? member.user.global_name ?? member.user.username;
    li.append(dot, name);
    if (member.user.id !== store.me?.id && renderSidebar.onMessage) {
      const message = document.createElement('button');
      message.type = 'button';
      message.className = 'icon member-message';
      message.title = `Message ${name.textContent}`;
      message.dataset.action = 'message';
      message.textContent = '✉';
      message.addEventListener('click', () => renderSidebar.onMessage(member.user.id));
      li.append(message);
    }
    const menu = renderSidebar.memberMenu?.(guild, member);
    if (menu) {
      li.classList.add('moderatable');
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'icon member-actions';
      open.title = 'Moderate';
      open.textContent = '⋯';
      open.addEventListener('click', () => { menu.hidden = !menu.hidden; });
      menu.hidden = true;
      li.append(open, menu);
    }
    if (presence?.custom) {
      const custom = document.createElement('span');
      custom.className = 'custom';
      custom.textContent = presence.custom;
      li.append(custom);
    }
    return li;
  }));
}

/** A list entry; unread ones are bold, and mentions show as a count badge. */
function item(label, active, onClick, id, { unread = false, mentions = 0 } = {}) {
  const li = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  button.dataset.id = id;
  if (active) button.classList.add('active');
  if (unread) button.classList.add('unread');
  if (mentions > 0 && !active) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = mentions > 99 ? '99+' : String(mentions);
    button.append(badge);
  }
  button.addEventListener('click', onClick);
  li.append(button);
  return li;
}
