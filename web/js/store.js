// What the client knows: the user, their workspaces (channels, members) and, per channel, the
// messages loaded so far. Filled from READY/GUILD_CREATE and kept current by dispatches.

export const store = {
  me: null,
  guilds: new Map(),      // id → { id, name, owner_id, channels: Map, members: Map, roles: Map }
  dms: new Map(),         // channel id → Discord's DM channel { id, type: 1, recipients: [user] }
  guildId: null,
  channelId: null,
  history: new Map(),     // channel id → { messages: [] (oldest first), complete: bool }
  typing: new Map(),      // channel id → Map(user id → expiry time)
  presences: new Map(),   // user id → { status, custom } as others see it (absent: offline)
  readStates: new Map(),  // channel id → { last_message_id, unread_count, mention_count }
};

export function readStateOf(channelId) {
  if (!store.readStates.has(channelId)) store.readStates.set(channelId, { last_message_id: '0', unread_count: 0, mention_count: 0 });
  return store.readStates.get(channelId);
}

/** Records a PRESENCE_UPDATE (or a GUILD_CREATE presence). */
export function setPresence(update) {
  const custom = update.activities?.find((a) => a.type === 4)?.state ?? null;
  if (!update.status || update.status === 'offline') store.presences.delete(update.user.id);
  else store.presences.set(update.user.id, { status: update.status, custom });
}

export function addGuild(payload) {
  const guild = {
    id: payload.id, name: payload.name, owner_id: payload.owner_id, system_channel_id: payload.system_channel_id,
    channels: new Map((payload.channels ?? []).map((c) => [c.id, c])),
    members: new Map((payload.members ?? []).map((m) => [m.user.id, m])),
    roles: new Map((payload.roles ?? []).map((r) => [r.id, r])),
  };
  store.guilds.set(guild.id, guild);
  for (const presence of payload.presences ?? []) setPresence(presence);
  return guild;
}

export function guildOfChannel(channelId) {
  for (const guild of store.guilds.values()) if (guild.channels.has(channelId)) return guild;
  return null;
}

/** A DM's name: the other person's. */
export function dmName(dm) {
  const other = dm.recipients?.[0];
  return other ? other.global_name ?? other.username : 'Direct message';
}

/** A user's display name, from members or from messages seen. */
export function nameOf(userId) {
  if (store.me?.id === userId) return store.me.global_name ?? store.me.username;
  for (const dm of store.dms.values()) {
    const user = dm.recipients?.find((u) => u.id === userId);
    if (user) return user.global_name ?? user.username;
  }
  for (const guild of store.guilds.values()) {
    const member = guild.members.get(userId);
    if (member) return member.nick ?? member.user.global_name ?? member.user.username;
  }
  for (const history of store.history.values()) {
    for (const message of history.messages) {
      if (message.author.id === userId) return message.author.global_name ?? message.author.username;
      const mentioned = message.mentions?.find((u) => u.id === userId);
      if (mentioned) return mentioned.global_name ?? mentioned.username;
    }
  }
  return null;
}

/** Text channels in display order: categories by position, channels by position within them. */
export function orderedChannels(guild) {
  const all = [...guild.channels.values()];
  const byPosition = (a, b) => (a.position - b.position) || a.id.localeCompare(b.id);
  const categories = all.filter((c) => c.type === 4).sort(byPosition);
  const text = all.filter((c) => c.type === 0 || c.type === 5);
  const groups = [{ category: null, channels: text.filter((c) => !c.parent_id).sort(byPosition) }];
  for (const category of categories) {
    groups.push({ category, channels: text.filter((c) => c.parent_id === category.id).sort(byPosition) });
  }
  return groups;
}

export function historyOf(channelId) {
  if (!store.history.has(channelId)) store.history.set(channelId, { messages: [], complete: false, loaded: false });
  return store.history.get(channelId);
}

/** Adds messages (any order) to a channel's history; ids already there are replaced, not repeated. */
export function mergeMessages(channelId, messages) {
  const history = historyOf(channelId);
  const byId = new Map(history.messages.map((m) => [m.id, m]));
  for (const message of messages) byId.set(message.id, message);
  history.messages = [...byId.values()].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  return history;
}
