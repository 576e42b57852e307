'use strict';
// The state cache: the last good API list, each API's policies as read and its approved
// contracts, on disk, so that an adapter restarted while the platform is unreachable enforces
// what it last applied (MuleSoft caches policies and contracts on the file system). One JSON
// file, written whole through a temporary file renamed over it (mode 0600: contracts carry
// client secrets), and only when its content changed; read once, at start.

const fs = require('node:fs');
const path = require('node:path');

const FORMAT = 1;
const FILE = 'state.json';
const MAX_BYTES = 64 * 1024 * 1024; // a larger file is not ours: start without it

class StateCache {
  constructor(dir, log) {
    this.dir = dir;
    this.file = path.join(dir, FILE);
    this.log = log;
    this.written = null; // the text last written or read, so an unchanged state is not rewritten
  }

  // {apis, policies: Map(api id -> raw policies), contracts: Map(api id -> Map(client id ->
  // contract))}, or null when there is no usable file (a bad one is named in the log).
  load() {
    let text;
    try {
      const { size } = fs.statSync(this.file);
      if (size > MAX_BYTES) return this.unusable(`${size} bytes, over ${MAX_BYTES}`);
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      return this.unusable(err.message);
    }
    let data;
    try {
      data = JSON.parse(text);
    } catch (err) {
      return this.unusable(`not JSON (${err.message})`);
    }
    const problem = shapeProblem(data);
    if (problem) return this.unusable(problem);
    this.written = text;
    return {
      apis: data.apis,
      policies: new Map(Object.entries(data.policies)),
      contracts: new Map(Object.entries(data.contracts)
        .map(([id, list]) => [id, new Map(list.map((c) => [c.clientId, c]))])),
    };
  }

  // Writes the state (the shape load returns) unless it is what the file already holds.
  save(state) {
    const text = JSON.stringify({
      format: FORMAT,
      apis: state.apis,
      policies: Object.fromEntries(state.policies),
      contracts: Object.fromEntries([...state.contracts]
        .map(([id, byClient]) => [id, [...byClient.values()]])),
    });
    if (text === this.written) return;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, text, { mode: 0o600 });
    fs.renameSync(temporary, this.file);
    this.written = text;
  }

  unusable(why) {
    this.log.warn(`state cache ${this.file}: ${why}; starting without it`);
    return null;
  }
}

function shapeProblem(data) {
  if (!data || typeof data !== 'object' || data.format !== FORMAT) {
    return `not a format ${FORMAT} state file`;
  }
  if (!Array.isArray(data.apis) || !data.apis.every((id) => typeof id === 'string')) {
    return 'apis is not a list of ids';
  }
  for (const key of ['policies', 'contracts']) {
    const value = data[key];
    if (!value || typeof value !== 'object' || Array.isArray(value)
      || !Object.values(value).every(Array.isArray)) {
      return `${key} is not an object of lists`;
    }
  }
  const contracts = Object.values(data.contracts).flat();
  if (!contracts.every((c) => c && typeof c.clientId === 'string')) {
    return 'a contract has no clientId';
  }
  return null;
}

module.exports = { StateCache };
