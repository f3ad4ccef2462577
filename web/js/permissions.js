// Discord's permission algorithm, as the server computes it (ConcordPermissions), so the client
// shows only what the user may do: channels they can view, a composer only where they can send,
// settings and the member menu only to those who may use them. The server still decides.
import { store } from './store.js';

export const P = {
  CREATE_INSTANT_INVITE: 1n << 0n, KICK_MEMBERS: 1n << 1n, BAN_MEMBERS: 1n << 2n, ADMINISTRATOR: 1n << 3n,
  MANAGE_CHANNELS: 1n << 4n, MANAGE_GUILD: 1n << 5n, ADD_REACTIONS: 1n << 6n, VIEW_AUDIT_LOG: 1n << 7n,
  VIEW_CHANNEL: 1n << 10n, SEND_MESSAGES: 1n << 11n, MANAGE_MESSAGES: 1n << 13n, EMBED_LINKS: 1n << 14n,
  ATTACH_FILES: 1n << 15n, READ_MESSAGE_HISTORY: 1n << 16n, MENTION_EVERYONE: 1n << 17n,
  CHANGE_NICKNAME: 1n << 26n, MANAGE_NICKNAMES: 1n << 27n, MANAGE_ROLES: 1n << 28n, MODERATE_MEMBERS: 1n << 40n,
};
const ALL = (1n << 51n) - 1n;
const TIMED_OUT_KEEPS = P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY;
const NEEDS_SENDING = P.MENTION_EVERYONE | (1n << 12n) | P.ATTACH_FILES | P.EMBED_LINKS;

/** The permissions the settings screen offers, in Discord's words. */
export const EDITABLE = [
  ['View channels', P.VIEW_CHANNEL], ['Send messages', P.SEND_MESSAGES], ['Read message history', P.READ_MESSAGE_HISTORY],
  ['Mention @everyone', P.MENTION_EVERYONE], ['Manage messages', P.MANAGE_MESSAGES], ['Manage channels', P.MANAGE_CHANNELS],
  ['Manage roles', P.MANAGE_ROLES], ['Kick members', P.KICK_MEMBERS], ['Ban members', P.BAN_MEMBERS],
  ['Time out members', P.MODERATE_MEMBERS], ['View audit log', P.VIEW_AUDIT_LOG], ['Administrator', P.ADMINISTRATOR],
];

const bits = (text) => { try { return BigInt(text ?? '0'); } catch { return 0n; } };

function timedOut(member) {
  return member?.communication_disabled_until ? Date.parse(member.communication_disabled_until) > Date.now() : false;
}

/** The user's permissions in the workspace. */
export function basePermissions(guild, userId = store.me?.id) {
  if (!guild || !userId) return 0n;
  if (guild.owner_id === userId) return ALL;
  const member = guild.members.get(userId);
  let permissions = bits(guild.roles.get(guild.id)?.permissions);
  for (const id of member?.roles ?? []) permissions |= bits(guild.roles.get(id)?.permissions);
  if (permissions & P.ADMINISTRATOR) return ALL;
  if (timedOut(member)) permissions &= TIMED_OUT_KEEPS;
  return permissions;
}

/** The user's permissions in a channel: the base, then @everyone's, the roles' and their own overwrite. */
export function channelPermissions(guild, channel, userId = store.me?.id) {
  let permissions = basePermissions(guild, userId);
  if (permissions & P.ADMINISTRATOR) return ALL;
  const overwrites = channel?.permission_overwrites ?? [];
  const everyone = overwrites.find((o) => o.type === 0 && o.id === guild.id);
  if (everyone) permissions = (permissions & ~bits(everyone.deny)) | bits(everyone.allow);
  const held = new Set(guild.members.get(userId)?.roles ?? []);
  let allow = 0n, deny = 0n;
  for (const o of overwrites) if (o.type === 0 && o.id !== guild.id && held.has(o.id)) { allow |= bits(o.allow); deny |= bits(o.deny); }
  permissions = (permissions & ~deny) | allow;
  const own = overwrites.find((o) => o.type === 1 && o.id === userId);
  if (own) permissions = (permissions & ~bits(own.deny)) | bits(own.allow);
  if (timedOut(guild.members.get(userId))) permissions &= TIMED_OUT_KEEPS;
  if (!(permissions & P.VIEW_CHANNEL)) return 0n;
  if (!(permissions & P.SEND_MESSAGES)) permissions &= ~NEEDS_SENDING;
  return permissions;
}

export function can(guild, permission, channel = null) {
  const held = channel ? channelPermissions(guild, channel) : basePermissions(guild);
  return (held & permission) === permission;
}

/** The position of the user's most senior role (the owner outranks everyone). */
export function highestPosition(guild, userId = store.me?.id) {
  if (guild.owner_id === userId) return Infinity;
  return Math.max(0, ...(guild.members.get(userId)?.roles ?? []).map((id) => guild.roles.get(id)?.position ?? 0));
}
