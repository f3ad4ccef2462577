// The browser client: log in or register, then chat through the edge that served this page,
// over the same REST API and gateway that bots use. The token lives in memory and in
// sessionStorage (this tab only) or, when the user asks to stay signed in, localStorage (every
// tab of this browser); never in a URL. Each channel has a URL (#/channels/{guild or @me}/{id}),
// so reloading and the back button keep one's place.
import { createApi, createUploader } from './api.js';
import { Composer } from './composer.js';
import { Gateway } from './gateway.js';
import { MessageView } from './messages.js';
import { Settings, memberMenu } from './settings.js';
import { renderMembers, renderSidebar } from './sidebar.js';
import { P, can } from './permissions.js';
import { addGuild, dmName, guildOfChannel, historyOf, nameOf, orderedChannels, readStateOf, setPresence, store } from './store.js';

const TOKEN_KEY = 'concord.token';
const $ = (id) => document.getElementById(id);

const NOTIFY_KEY = 'concord.notify';
let token = sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
/** Where the URL pointed when the page loaded, until that workspace or DM is known. */
let pendingRoute = routeOf(location.hash);
let gateway = null;
let readyCount = 0;
let selectAfterJoin = null;
const api = createApi(() => token);
const messages = new MessageView({ api, onReply: (m) => composer.setReply(m), onError: showError });
const composer = new Composer({ api, upload: createUploader(() => token), messages, onError: showError });
const settings = new Settings({ api, onError: showError });

function showError(error) {
  const details = error.body?.errors ? firstFieldError(error.body.errors) : null;
  const toast = $('toast');
  toast.textContent = details ?? error.message ?? String(error);
  toast.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { toast.hidden = true; }, 5000);
}

function firstFieldError(errors) {
  for (const value of Object.values(errors)) {
    if (value?._errors?.length) return value._errors[0].message;
    const nested = typeof value === 'object' ? firstFieldError(value) : null;
    if (nested) return nested;
  }
  return null;
}

// Log in, register, log out

$('auth-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const mode = event.submitter?.value === 'register' ? 'register' : 'login';
  $('auth-error').textContent = '';
  try {
    const [username, password] = [form.get('username'), form.get('password')];
    // Discord's login body names the account `login`; registering names it `username`.
    const body = mode === 'login' ? { login: username, password } : { username, password };
    const reply = await api('POST', `/auth/${mode}`, body);
    token = reply.token;
    (form.get('stay') ? localStorage : sessionStorage).setItem(TOKEN_KEY, token);
    await start();
  } catch (error) {
    $('auth-error').textContent = (error.body?.errors && firstFieldError(error.body.errors)) ?? error.message;
  }
});

$('logout').addEventListener('click', logout);

function logout() {
  gateway?.stop();
  gateway = null;
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
  store.guilds.clear();
  store.dms.clear();
  store.history.clear();
  store.guildId = store.channelId = null;
  $('app').hidden = true;
  $('banner').hidden = true;
  $('auth-form').reset();
  $('sidebar').classList.remove('open');
  $('auth').hidden = false;
}

async function start() {
  try {
    store.me = await api('GET', '/users/@me');
  } catch (error) {
    if (error.status === 401) return logout();
    throw error;
  }
  $('auth').hidden = true;
  $('app').hidden = false;
  $('me-name').textContent = store.me.global_name ?? store.me.username;
  store.ownPresence = { status: 'online' };
  readyCount = 0;
  gateway = new Gateway({
    token,
    onDispatch: dispatch,
    onStatus: (connected) => { $('banner').hidden = connected; },
    onFatal: (code) => { if (code === 4004) logout(); else showError(new Error(`Gateway closed (${code})`)); },
  });
  gateway.start();
  // For tests and the curious: `concord.gateway.drop()` cuts the socket as a network failure would.
  window.concord = { gateway, store };
  const invite = location.hash.match(/^#\/invite\/([\w-]+)$/);
  if (invite) showInvite(invite[1]);
  for (const dm of await api('GET', '/users/@me/channels')) store.dms.set(dm.id, dm);
  if (pendingRoute?.guild === '@me' && store.dms.has(pendingRoute.channel)) {
    selectChannel(pendingRoute.channel);
    pendingRoute = null;
  }
  redrawSidebar();
  $('notify').classList.toggle('on', notificationsOn());
  $('input').focus();
}

// Gateway events

function dispatch(type, d) {
  switch (type) {
    case 'READY':
      store.me = d.user;
      store.readStates = new Map((d.read_state?.entries ?? []).map((e) => [e.id, e]));
      // A new session after a lost one: what it shows may be stale, so read it again.
      if (readyCount++ > 0) messages.refresh().catch(showError);
      break;
    case 'GUILD_CREATE':
      addGuild(d);
      if (pendingRoute?.guild === d.id) {
        selectGuild(d.id, pendingRoute.channel);
        pendingRoute = null;
      } else if (selectAfterJoin === d.id || (!store.guildId && !store.dms.has(store.channelId))) {
        selectGuild(d.id);
      } else if (!store.guildId) {
        // A DM is open (from the URL): the workspace's channels are listed beside it.
        store.guildId = d.id;
        redrawSidebar();
      } else {
        redrawSidebar();
      }
      break;
    case 'GUILD_UPDATE':
      if (store.guilds.has(d.id)) store.guilds.get(d.id).name = d.name;
      redrawSidebar();
      break;
    case 'GUILD_DELETE':
      store.guilds.delete(d.id);
      if (store.guildId === d.id) selectGuild(store.guilds.keys().next().value ?? null); else redrawSidebar();
      break;
    case 'CHANNEL_CREATE':
    case 'CHANNEL_UPDATE':
      if (d.type === 1) {
        store.dms.set(d.id, { ...store.dms.get(d.id), ...d });
        redrawSidebar();
        break;
      }
      store.guilds.get(d.guild_id)?.channels.set(d.id, d);
      if (d.id === store.channelId) $('channel-title').textContent = `# ${d.name}`;
      redrawSidebar();
      break;
    case 'GUILD_ROLE_CREATE':
    case 'GUILD_ROLE_UPDATE':
      store.guilds.get(d.guild_id)?.roles.set(d.role.id, d.role);
      redrawSidebar();
      break;
    case 'GUILD_ROLE_DELETE': {
      const guild = store.guilds.get(d.guild_id);
      guild?.roles.delete(d.role_id);
      for (const member of guild?.members.values() ?? []) member.roles = (member.roles ?? []).filter((id) => id !== d.role_id);
      redrawSidebar();
      break;
    }
    case 'CHANNEL_DELETE':
      store.guilds.get(d.guild_id)?.channels.delete(d.id);
      if (d.id === store.channelId) selectGuild(store.guildId); else redrawSidebar();
      break;
    case 'GUILD_MEMBER_ADD':
    case 'GUILD_MEMBER_UPDATE':
      store.guilds.get(d.guild_id)?.members.set(d.user.id, d);
      // One's own roles decide which channels show.
      if (d.user.id === store.me?.id) redrawSidebar(); else { renderMembers(); settings.refresh(); }
      break;
    case 'GUILD_MEMBER_REMOVE':
      store.guilds.get(d.guild_id)?.members.delete(d.user.id);
      renderMembers();
      break;
    case 'MESSAGE_CREATE':
      if (store.dms.has(d.channel_id)) store.dms.get(d.channel_id).last_message_id = d.id;
      store.typing.get(d.channel_id)?.delete(d.author.id);
      messages.upsert(d);
      renderTyping();
      countUnread(d);
      break;
    case 'MESSAGE_ACK':
      Object.assign(readStateOf(d.channel_id), { last_message_id: d.message_id, unread_count: d.unread_count, mention_count: d.mention_count });
      redrawSidebar();
      break;
    case 'MESSAGE_UPDATE':
      messages.upsert(d);
      break;
    case 'MESSAGE_DELETE':
      messages.remove(d.channel_id, d.id);
      break;
    case 'MESSAGE_DELETE_BULK':
      for (const id of d.ids) messages.remove(d.channel_id, id);
      break;
    case 'MESSAGE_REACTION_ADD':
    case 'MESSAGE_REACTION_REMOVE':
    case 'MESSAGE_REACTION_REMOVE_ALL':
    case 'MESSAGE_REACTION_REMOVE_EMOJI':
      messages.react(type, d);
      break;
    case 'CHANNEL_PINS_UPDATE':
      if (d.channel_id === store.channelId && !$('pins').hidden) showPins().catch(showError);
      break;
    case 'PRESENCE_UPDATE':
      // Without guild_id it is the user's own real status (invisible shows as invisible).
      if (d.user.id === store.me?.id && !d.guild_id) store.ownPresence = d.status === 'offline' ? null : { status: d.status };
      else if (d.user.id !== store.me?.id) setPresence(d);
      renderMembers();
      break;
    case 'TYPING_START':
      if (d.user_id === store.me?.id) break;
      if (!store.typing.has(d.channel_id)) store.typing.set(d.channel_id, new Map());
      store.typing.get(d.channel_id).set(d.user_id, Date.now() + 10_000);
      if (d.member?.user) store.guilds.get(d.guild_id)?.members.set(d.user_id, d.member);
      renderTyping();
      break;
  }
}

// Unread counts: a message elsewhere (or while the tab is hidden) counts until the channel is
// read; reading it acks the newest message through the API, which clears every device.

function countUnread(message) {
  if (message.author.id === store.me?.id) return;
  const direct = store.dms.has(message.channel_id);
  const mentioned = direct || message.mention_everyone || message.mentions?.some((u) => u.id === store.me?.id);
  if (message.channel_id === store.channelId && document.visibilityState === 'visible') return acknowledge(message.channel_id);
  const state = readStateOf(message.channel_id);
  state.unread_count += 1;
  if (mentioned) state.mention_count += 1;
  if (mentioned) notify(message, direct);
  redrawSidebar();
}

// Desktop notifications for mentions and direct messages, when the user turned them on and
// the browser allows them.

function notificationsOn() {
  return localStorage.getItem(NOTIFY_KEY) === '1' && window.Notification?.permission === 'granted';
}

$('notify').addEventListener('click', async () => {
  if (notificationsOn()) {
    localStorage.removeItem(NOTIFY_KEY);
  } else if (window.Notification) {
    const permission = window.Notification.permission === 'granted' ? 'granted' : await window.Notification.requestPermission();
    if (permission === 'granted') localStorage.setItem(NOTIFY_KEY, '1');
    else showError(new Error('The browser does not allow notifications for this page.'));
  }
  $('notify').classList.toggle('on', notificationsOn());
});

function notify(message, direct) {
  if (!notificationsOn()) return;
  const author = message.author.global_name ?? message.author.username;
  const where = direct ? author : `#${guildOfChannel(message.channel_id)?.channels.get(message.channel_id)?.name ?? 'channel'}`;
  const note = new window.Notification(direct ? author : `${author} in ${where}`, { body: message.content.slice(0, 200), tag: message.id });
  note.onclick = () => { window.focus(); selectChannel(message.channel_id); };
}

function acknowledge(channelId) {
  const history = historyOf(channelId);
  const latest = history.messages[history.messages.length - 1];
  const state = readStateOf(channelId);
  if (!latest || (state.last_message_id === latest.id && state.unread_count === 0)) return;
  Object.assign(state, { last_message_id: latest.id, unread_count: 0, mention_count: 0 });
  redrawSidebar();
  clearTimeout(acknowledge.timers?.[channelId]);
  (acknowledge.timers ??= {})[channelId] = setTimeout(() => {
    api('POST', `/channels/${channelId}/messages/${latest.id}/ack`, { token: null }).catch(() => {});
  }, 300);
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && store.channelId) acknowledge(store.channelId);
});

function renderTyping() {
  const now = Date.now();
  const typers = [...(store.typing.get(store.channelId) ?? new Map())]
    .filter(([, until]) => until > now).map(([id]) => nameOf(id) ?? 'Someone');
  $('typing').textContent = typers.length === 0 ? ''
    : typers.length === 1 ? `${typers[0]} is typing…` : `${typers.join(', ')} are typing…`;
}
setInterval(renderTyping, 1000);

// Navigation

function redrawSidebar() {
  const guild = store.guilds.get(store.guildId);
  // The channel on screen may have just been hidden from this user (or none was visible yet):
  // go where they may look.
  const channel = guild?.channels.get(store.channelId);
  if (guild && !store.dms.has(store.channelId) && !(channel && canView(guild, channel))) {
    const first = firstVisibleChannel(guild);
    if (first && first.id !== store.channelId) return selectChannel(first.id);
    if (!first && store.channelId) return selectChannel(null);
  }
  renderSidebar({ onGuild: selectGuild, onChannel: selectChannel, onMessage: (userId) => openDM(userId).catch(showError),
                  memberMenu: (g, member) => memberMenu(g, member, { api, onError: showError }) });
  renderMembers();
  composer.updatePermission();
  $('open-settings').hidden = !Settings.available(guild);
  settings.refresh();
}

const canView = (guild, channel) => can(guild, P.VIEW_CHANNEL, channel);

/** Where Discord lands: the workspace's system channel, else the first text channel, of those the user can view. */
function firstVisibleChannel(guild) {
  const system = guild.channels.get(guild.system_channel_id);
  if (system && canView(guild, system)) return system;
  return orderedChannels(guild).flatMap((group) => group.channels).find((c) => canView(guild, c)) ?? null;
}

/** Opens a workspace at `channelId` when the user may view it, else where Discord lands. */
function selectGuild(id, channelId = null) {
  store.guildId = id;
  const guild = store.guilds.get(id);
  if (selectAfterJoin === id) selectAfterJoin = null;
  const wanted = channelId && guild?.channels.get(channelId);
  selectChannel(wanted && canView(guild, wanted) ? wanted.id : guild ? firstVisibleChannel(guild)?.id ?? null : null);
}

/** Opens (or finds) the DM with a user and shows it. */
async function openDM(userId) {
  const dm = await api('POST', '/users/@me/channels', { recipient_id: userId });
  store.dms.set(dm.id, { ...store.dms.get(dm.id), ...dm });
  selectChannel(dm.id);
}

/** `#/channels/{guild or @me}/{channel}` → { guild, channel }. */
function routeOf(hash) {
  const match = hash.match(/^#\/channels\/(\d+|@me)\/(\d+)$/);
  return match ? { guild: match[1], channel: match[2] } : null;
}

window.addEventListener('popstate', () => {
  const route = routeOf(location.hash);
  if (!route || !store.me) return;
  if (route.guild === '@me') { if (store.dms.has(route.channel)) selectChannel(route.channel, { fromHistory: true }); return; }
  if (store.guilds.has(route.guild)) {
    store.guildId = route.guild;
    selectChannel(route.channel, { fromHistory: true });
  }
});

function selectChannel(id, { fromHistory = false } = {}) {
  store.channelId = id;
  const dm = id ? store.dms.get(id) : null;
  const channel = id && !dm ? guildOfChannel(id)?.channels.get(id) : null;
  $('channel-title').textContent = dm ? `@ ${dmName(dm)}` : channel ? `# ${channel.name}` : 'No channel';
  const url = id ? `#/channels/${dm ? '@me' : channel?.guild_id ?? store.guildId}/${id}` : null;
  if (url && !fromHistory && location.hash !== url) history.pushState(null, '', url);
  $('invite-link').hidden = true;
  $('pins').hidden = true;
  $('sidebar').classList.remove('open');
  redrawSidebar();
  renderTyping();
  if (id) messages.show(id).then(() => { if (store.channelId === id) acknowledge(id); }).catch(showError);
  $('input').focus();
}

$('toggle-sidebar').addEventListener('click', () => $('sidebar').classList.toggle('open'));

// The channel's pinned messages, newest pin first.
$('show-pins').addEventListener('click', () => {
  if (!$('pins').hidden) { $('pins').hidden = true; return; }
  showPins().catch(showError);
});

async function showPins() {
  const channelId = store.channelId;
  if (!channelId) return;
  const pinned = await api('GET', `/channels/${channelId}/pins`);
  if (store.channelId !== channelId) return;
  const list = $('pins-list');
  list.replaceChildren(...pinned.map((message) => messages.element(message)));
  if (pinned.length === 0) {
    const empty = document.createElement('p');
    empty.textContent = 'Nothing is pinned in this channel yet.';
    list.append(empty);
  }
  $('pins').hidden = false;
}
$('close-pins').addEventListener('click', () => { $('pins').hidden = true; });

// Creating workspaces, channels and invites; joining through an invite link

toggleForm('new-guild', 'new-guild-form', async (name) => {
  const guild = await api('POST', '/guilds', { name });
  await showJoined(guild);
});

/**
 * Opens a workspace the user just created or joined. The gateway's GUILD_CREATE (members,
 * presences) usually arrives first; until it does, the channels come from the API.
 */
async function showJoined(guild) {
  if (!store.guilds.has(guild.id)) {
    const [channels, roles] = await Promise.all([api('GET', `/guilds/${guild.id}/channels`), api('GET', `/guilds/${guild.id}/roles`)]);
    if (!store.guilds.has(guild.id)) addGuild({ ...guild, channels, roles, members: [{ user: store.me, roles: [] }] });
  }
  selectGuild(guild.id);
}

toggleForm('new-channel', 'new-channel-form', async (name) => {
  if (!store.guildId) return;
  // A new channel goes into the category of the channel on screen, as Discord's client does.
  const parent = guildOfChannel(store.channelId)?.channels.get(store.channelId)?.parent_id ?? undefined;
  const channel = await api('POST', `/guilds/${store.guildId}/channels`, { name, type: 0, parent_id: parent });
  store.guilds.get(store.guildId)?.channels.set(channel.id, channel);
  selectChannel(channel.id);
});

function toggleForm(buttonId, formId, create) {
  const form = $(formId);
  $(buttonId).addEventListener('click', () => { form.hidden = !form.hidden; if (!form.hidden) form.elements.name.focus(); });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await create(form.elements.name.value.trim());
      form.reset();
      form.hidden = true;
    } catch (error) {
      showError(error);
    }
  });
}

$('invite').addEventListener('click', async () => {
  if (!store.channelId) return;
  try {
    const invite = await api('POST', `/channels/${store.channelId}/invites`, { max_age: 86400 });
    const field = $('invite-link');
    field.value = `${location.origin}/app/#/invite/${invite.code}`;
    field.hidden = false;
    field.select();
  } catch (error) {
    showError(error);
  }
});

async function showInvite(code) {
  try {
    const invite = await api('GET', `/invites/${code}`);
    $('join-text').textContent = `You are invited to join ${invite.guild?.name ?? 'a workspace'}.`;
    $('join').hidden = false;
    $('join-accept').onclick = async () => {
      try {
        await api('POST', `/invites/${code}`);
        selectAfterJoin = invite.guild.id;
        await showJoined(invite.guild);
        closeInvite();
      } catch (error) {
        showError(error);
      }
    };
    $('join-cancel').onclick = closeInvite;
  } catch (error) {
    showError(error);
    closeInvite();
  }
}

function closeInvite() {
  $('join').hidden = true;
  history.replaceState(null, '', location.pathname);
}

window.addEventListener('hashchange', () => {
  const invite = location.hash.match(/^#\/invite\/([\w-]+)$/);
  if (invite && token) showInvite(invite[1]);
});

if (token) start().catch(showError); else $('auth').hidden = false;
