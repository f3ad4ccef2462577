// Workspaces and the current workspace's channels.
import { orderedChannels, store } from './store.js';

export function renderSidebar({ onGuild, onChannel }) {
  const guildList = document.getElementById('guilds');
  guildList.replaceChildren(...[...store.guilds.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((guild) => item(guild.name, guild.id === store.guildId, () => onGuild(guild.id), `guild-${guild.id}`)));

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
    for (const channel of group.channels) {
      rows.push(item(`# ${channel.name}`, channel.id === store.channelId, () => onChannel(channel.id), `channel-${channel.id}`));
    }
  }
  channelList.replaceChildren(...rows);
}

function item(label, active, onClick, id) {
  const li = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  button.dataset.id = id;
  if (active) button.classList.add('active');
  button.addEventListener('click', onClick);
  li.append(button);
  return li;
}
