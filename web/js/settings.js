// Workspace settings for owners and admins: roles (create, name, color, permissions, order,
// delete), who holds them, and the permissions of the channel on screen (private to roles or
// members). Each change goes through Discord's routes; the gateway's events update the view.
import { EDITABLE, P, basePermissions, can, highestPosition } from './permissions.js';
import { store } from './store.js';

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

export class Settings {
  constructor({ api, onError }) {
    this.api = api;
    this.onError = onError;
    this.dialog = $('settings');
    $('open-settings').addEventListener('click', () => this.open());
    $('close-settings').addEventListener('click', () => this.close());
  }

  /** Whether the user may open the screen in the current workspace. */
  static available(guild) {
    return !!guild && (can(guild, P.MANAGE_ROLES) || can(guild, P.MANAGE_CHANNELS));
  }

  open() {
    this.dialog.hidden = false;
    this.render();
  }

  close() { this.dialog.hidden = true; }

  /** Redraws while open (a role, member or channel changed). */
  refresh() { if (!this.dialog.hidden) this.render(); }

  async run(action) {
    try { await action(); } catch (error) { this.onError(error); }
  }

  render() {
    const guild = store.guilds.get(store.guildId);
    if (!guild) return this.close();
    $('settings-title').textContent = `${guild.name} — settings`;
    const roles = [...guild.roles.values()].sort((a, b) => b.position - a.position || a.id.localeCompare(b.id));
    const mine = highestPosition(guild);
    const held = basePermissions(guild);
    const manageable = (role) => role.position < mine || guild.owner_id === store.me.id;

    const roleRows = roles.map((role, index) => {
      const everyone = role.id === guild.id;
      const editable = can(guild, P.MANAGE_ROLES) && manageable(role);
      const name = el('input', { value: role.name, disabled: everyone || !editable, ariaLabel: 'Role name', className: 'role-name' });
      const color = el('input', { type: 'color', value: `#${(role.color ?? 0).toString(16).padStart(6, '0')}`, disabled: everyone || !editable, ariaLabel: 'Role color' });
      const boxes = EDITABLE.map(([label, bit]) => el('label', { className: 'perm' },
        el('input', { type: 'checkbox', checked: (BigInt(role.permissions) & bit) === bit, disabled: !editable || !(held & bit), dataset: { bit: bit.toString() } }),
        label));
      const save = el('button', { type: 'button', textContent: 'Save', disabled: !editable, dataset: { role: role.id, action: 'save' }, onclick: () => this.run(async () => {
        let permissions = 0n;
        for (const box of boxes.map((b) => b.querySelector('input'))) if (box.checked) permissions |= BigInt(box.dataset.bit);
        const untouched = BigInt(role.permissions) & ~EDITABLE.reduce((all, [, bit]) => all | bit, 0n);
        const body = { permissions: String(permissions | untouched) };
        if (!everyone) Object.assign(body, { name: name.value, color: parseInt(color.value.slice(1), 16) });
        await this.api('PATCH', `/guilds/${guild.id}/roles/${role.id}`, body);
      }) });
      const controls = [save];
      if (!everyone) {
        const above = roles[index - 1];
        controls.push(el('button', { type: 'button', textContent: '↑', title: 'Move up', className: 'secondary', disabled: !editable || !above || above.id === guild.id || !manageable(above),
          onclick: () => this.run(() => this.api('PATCH', `/guilds/${guild.id}/roles`, [{ id: role.id, position: role.position + 1 }])) }));
        controls.push(el('button', { type: 'button', textContent: 'Delete', className: 'secondary', disabled: !editable, dataset: { role: role.id, action: 'delete' },
          onclick: () => this.run(() => this.api('DELETE', `/guilds/${guild.id}/roles/${role.id}`)) }));
      }
      return el('li', { className: 'role', dataset: { role: role.id } },
        el('div', { className: 'role-head' }, name, color, ...controls), el('div', { className: 'perms' }, ...boxes));
    });
    const create = el('form', { className: 'inline-form', id: 'new-role-form', onsubmit: (event) => {
      event.preventDefault();
      const input = event.target.elements.name;
      this.run(async () => { await this.api('POST', `/guilds/${guild.id}/roles`, { name: input.value.trim() || 'new role' }); input.value = ''; });
    } }, el('input', { name: 'name', placeholder: 'New role name', maxLength: 100 }), el('button', { type: 'submit', textContent: 'Create role' }));
    $('settings-roles').replaceChildren(create, el('ul', { className: 'roles' }, ...roleRows));

    // Members and their roles.
    const assignable = roles.filter((r) => r.id !== guild.id);
    const memberRows = [...guild.members.values()].sort((a, b) => a.user.username.localeCompare(b.user.username)).map((member) =>
      el('li', { dataset: { user: member.user.id } }, el('span', { textContent: member.nick ?? member.user.username }),
        ...assignable.map((role) => el('label', { className: 'perm' }, el('input', {
          type: 'checkbox', checked: (member.roles ?? []).includes(role.id), disabled: !can(guild, P.MANAGE_ROLES) || !manageable(role),
          dataset: { role: role.id }, onchange: (event) => this.run(() =>
            this.api(event.target.checked ? 'PUT' : 'DELETE', `/guilds/${guild.id}/members/${member.user.id}/roles/${role.id}`)),
        }), role.name))));
    $('settings-members').replaceChildren(el('ul', { className: 'assign' }, ...memberRows));

    // The channel on screen: private or open, and who may see it.
    const channel = guild.channels.get(store.channelId);
    const box = $('settings-channel');
    if (!channel) { box.replaceChildren(); return; }
    const overwrites = channel.permission_overwrites ?? [];
    const isPrivate = overwrites.some((o) => o.id === guild.id && (BigInt(o.deny) & P.VIEW_CHANNEL));
    const put = (id, type, allow, deny) => this.api('PUT', `/channels/${channel.id}/permissions/${id}`, { type, allow: String(allow), deny: String(deny) });
    const rows = assignable.map((role) => {
      const own = overwrites.find((o) => o.id === role.id);
      return el('label', { className: 'perm' }, el('input', {
        type: 'checkbox', checked: !!own && (BigInt(own.allow) & P.VIEW_CHANNEL) === P.VIEW_CHANNEL, disabled: !isPrivate,
        dataset: { role: role.id }, onchange: (event) => this.run(() => event.target.checked
          ? put(role.id, 0, P.VIEW_CHANNEL, 0n) : this.api('DELETE', `/channels/${channel.id}/permissions/${role.id}`)),
      }), `${role.name} can see it`);
    });
    // Single members too (a member overwrite), as Discord's "add members or roles".
    for (const member of guild.members.values()) {
      if (member.user.id === guild.owner_id) continue;
      const own = overwrites.find((o) => o.id === member.user.id && o.type === 1);
      rows.push(el('label', { className: 'perm' }, el('input', {
        type: 'checkbox', checked: !!own && (BigInt(own.allow) & P.VIEW_CHANNEL) === P.VIEW_CHANNEL, disabled: !isPrivate,
        dataset: { member: member.user.id }, onchange: (event) => this.run(() => event.target.checked
          ? put(member.user.id, 1, P.VIEW_CHANNEL, 0n) : this.api('DELETE', `/channels/${channel.id}/permissions/${member.user.id}`)),
      }), `${member.nick ?? member.user.username} can see it`));
    }
    box.replaceChildren(el('h3', { textContent: `# ${channel.name}` }),
      el('label', { className: 'perm' }, el('input', { type: 'checkbox', id: 'channel-private', checked: isPrivate, disabled: !can(guild, P.MANAGE_ROLES, channel),
        onchange: (event) => this.run(() => event.target.checked
          ? put(guild.id, 0, 0n, P.VIEW_CHANNEL) : this.api('DELETE', `/channels/${channel.id}/permissions/${guild.id}`)) }),
      'Private channel (only the roles and members below, and the owner, see it)'), ...rows);
  }
}

/** The menu a moderator gets on a member: kick, ban, time out or lift a timeout. */
export function memberMenu(guild, member, { api, onError }) {
  const target = member.user.id;
  if (target === store.me?.id || target === guild.owner_id) return null;
  const above = highestPosition(guild) > highestPosition(guild, target);
  const run = (action) => async () => { try { await action(); } catch (error) { onError(error); } };
  const items = [];
  if (above && can(guild, P.MODERATE_MEMBERS)) {
    const timedOut = member.communication_disabled_until && Date.parse(member.communication_disabled_until) > Date.now();
    items.push(timedOut
      ? ['Remove timeout', run(() => api('PATCH', `/guilds/${guild.id}/members/${target}`, { communication_disabled_until: null }))]
      : ['Time out 10 minutes', run(() => api('PATCH', `/guilds/${guild.id}/members/${target}`,
        { communication_disabled_until: new Date(Date.now() + 600_000).toISOString() }))]);
  }
  if (above && can(guild, P.KICK_MEMBERS)) items.push(['Kick', run(() => api('DELETE', `/guilds/${guild.id}/members/${target}`))]);
  if (above && can(guild, P.BAN_MEMBERS)) items.push(['Ban', run(() => api('PUT', `/guilds/${guild.id}/bans/${target}`, { delete_message_seconds: 0 }))]);
  if (items.length === 0) return null;
  return el('div', { className: 'member-menu', dataset: { user: target } },
    ...items.map(([label, action]) => el('button', { type: 'button', className: 'secondary', textContent: label, dataset: { action: label.split(' ')[0].toLowerCase() }, onclick: action })));
}
