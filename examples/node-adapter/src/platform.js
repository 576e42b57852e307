'use strict';
// The Anypoint Platform client: client-credentials login and the public endpoints the adapter
// reads (API Manager v1 APIs, policies and contracts; API Platform repository applications),
// with paging bounded in pages. Shapes: research/anypoint.md §2.1-2.3.

const { request, HttpError, pathOf } = require('./http');

const MAX_PAGES = 1000;
const TOKEN_MARGIN = 0.9; // log in again after 90% of expires_in

class PlatformClient {
  constructor(settings, { timeoutMs = 5000 } = {}) {
    this.base = settings.platformUrl;
    this.ingest = settings.ingestUrl;
    this.orgId = settings.orgId;
    this.envId = settings.envId;
    this.clientId = settings.clientId;
    this.clientSecret = settings.clientSecret;
    this.timeoutMs = timeoutMs;
    this.token = null;
    this.tokenRenewAt = 0;
    this.loggingIn = null;
  }

  get apiManager() {
    const org = encodeURIComponent(this.orgId);
    const env = encodeURIComponent(this.envId);
    return `/apimanager/api/v1/organizations/${org}/environments/${env}`;
  }

  // -- login --------------------------------------------------------------------------------

  async bearer() {
    if (this.token && Date.now() < this.tokenRenewAt) return this.token;
    if (!this.loggingIn) {
      this.loggingIn = this.login().finally(() => { this.loggingIn = null; });
    }
    return this.loggingIn;
  }

  async login() {
    const answer = await request(`${this.base}/accounts/api/v2/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        client_id: this.clientId,
        client_secret: this.clientSecret,
        grant_type: 'client_credentials',
      }),
      timeoutMs: this.timeoutMs,
    });
    if (answer.status !== 200) {
      throw new HttpError(`login: status ${answer.status} ${brief(answer.text)}`, answer.status);
    }
    const body = parseJson(answer.text, 'login');
    if (!body || typeof body.access_token !== 'string' || body.access_token === '') {
      throw new HttpError('login: the answer has no access_token', 0);
    }
    const lifetime = Number(body.expires_in);
    const seconds = Number.isFinite(lifetime) && lifetime > 0 ? lifetime : 3600;
    this.token = body.access_token;
    this.tokenRenewAt = Date.now() + seconds * 1000 * TOKEN_MARGIN;
    return this.token;
  }

  forgetToken(token) {
    if (this.token === token) this.token = null;
  }

  // -- authenticated calls ------------------------------------------------------------------

  // Sends the call with the bearer token; a 401 logs in again and retries once.
  async call(url, options = {}) {
    for (let attempt = 0; ; attempt++) {
      const token = await this.bearer();
      const headers = { ...(options.headers || {}), authorization: `Bearer ${token}` };
      const answer = await request(url, { ...options, headers, timeoutMs: this.timeoutMs });
      if (answer.status === 401 && attempt === 0) {
        this.forgetToken(token);
        continue;
      }
      return answer;
    }
  }

  async getJson(path, query = {}) {
    const qs = new URLSearchParams(query).toString();
    const url = `${this.base}${path}${qs ? `?${qs}` : ''}`;
    const answer = await this.call(url, { headers: { accept: 'application/json' } });
    if (answer.status !== 200) {
      throw new HttpError(`GET ${pathOf(url)}: status ${answer.status} ${brief(answer.text)}`,
        answer.status);
    }
    return parseJson(answer.text, `GET ${pathOf(url)}`);
  }

  // -- API Manager v1 -----------------------------------------------------------------------

  // Every API instance of the environment: {total, assets: [{apis: [API]}]}, paged by offset.
  async listApis() {
    const limit = 100;
    const apis = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.getJson(`${this.apiManager}/apis`, {
        offset: String(page * limit), limit: String(limit), sort: 'createdDate', ascending: 'true',
      });
      const assets = field(body, 'assets', Array.isArray, 'GET …/apis');
      let instances = 0;
      for (const asset of assets) {
        const members = field(asset, 'apis', Array.isArray, 'GET …/apis assets[]');
        instances += members.length;
        apis.push(...members);
      }
      if (instances < limit) return apis;
    }
    throw new HttpError(`GET …/apis: more than ${MAX_PAGES} pages`, 0);
  }

  // The applied policies of one API: the CLI's fullInfo=false array, or the {policies} envelope
  // (both are documented shapes of this endpoint).
  async listPolicies(apiId) {
    const path = `${this.apiManager}/apis/${encodeURIComponent(apiId)}/policies`;
    const body = await this.getJson(path, { fullInfo: 'false' });
    if (Array.isArray(body)) return body;
    return field(body, 'policies', Array.isArray, `GET …/apis/${apiId}/policies`);
  }

  // Every contract of one API, whatever its status: {total, contracts}, paged by offset.
  async listContracts(apiId) {
    const path = `${this.apiManager}/apis/${encodeURIComponent(apiId)}/contracts`;
    return this.paged(path, 'contracts', 100, { sort: 'id', ascending: 'true' });
  }

  // -- API Platform repository v2 -----------------------------------------------------------

  async listApplications() {
    const path = `/apiplatform/repository/v2/organizations/${encodeURIComponent(this.orgId)}`
      + '/applications';
    return this.paged(path, 'applications', 250, { targetAdminSite: 'true' });
  }

  async getApplication(appId) {
    const path = `/apiplatform/repository/v2/organizations/${encodeURIComponent(this.orgId)}`
      + `/applications/${encodeURIComponent(appId)}`;
    return this.getJson(path);
  }

  async paged(path, key, limit, extra = {}) {
    const items = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const offset = page * limit;
      const body = await this.getJson(path, {
        ...extra, offset: String(offset), limit: String(limit),
      });
      const found = field(body, key, Array.isArray, `GET ${path}`);
      items.push(...found);
      const total = Number(body.total);
      if (found.length === 0 || found.length < limit
          || (Number.isFinite(total) && offset + found.length >= total)) {
        return items;
      }
    }
    throw new HttpError(`GET ${path}: more than ${MAX_PAGES} pages`, 0);
  }

  // -- analytics ingest ---------------------------------------------------------------------

  // `abort`: ends the post early (a stop takes the batch back to post it again).
  async postEvents(gzipped, batchId, abort = null) {
    return this.call(`${this.ingest}/v2/analytics/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'x-batch-id': batchId,
      },
      body: gzipped,
      abort,
    });
  }
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(`${what}: the answer is not JSON (${err.message})`, 0);
  }
}

function field(body, key, check, what) {
  const value = body && typeof body === 'object' ? body[key] : undefined;
  if (!check(value)) throw new HttpError(`${what}: the answer has no '${key}' list`, 0);
  return value;
}

function brief(text) {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

module.exports = { PlatformClient };
