// Self-test of the Pro Santé Connect test provider (server.mjs), over plain HTTP as a relying
// party and a browser would use it: fetch, a small cookie jar, the sign-in form posted by hand.
//
//   node selftest.mjs prepare <dir>   writes the files the provider is started with:
//                                     <dir>/client-key.json (private JWK of passerelle-pkjwt),
//                                     <dir>/client-jwks.json (its public JWKS), <dir>/users.json
//   node selftest.mjs <dir>           runs every check against the provider started in <dir>
//                                     (reads <dir>/env) with the same PSC_* environment
//
// `bash scripts/psc-provider.sh selftest` does both with a provider of its own. Ends with
// "N passed, N failed"; exits non-zero if a check failed.

import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { strict as assert } from 'node:assert';
import { join } from 'node:path';

import * as jose from 'jose';

const [mode, dirArg] = process.argv[2] === 'prepare' ? ['prepare', process.argv[3]] : ['run', process.argv[2]];
if (!dirArg) {
  console.error('usage: node selftest.mjs prepare <dir> | node selftest.mjs <dir>');
  process.exit(2);
}

// The professional of the users file, and one that overrides a built-in entry.
const FILE_USER = '899700427885';
const USERS = {
  [FILE_USER]: {
    given_name: 'Jeanne',
    family_name: 'Fichier',
    finess: [{ site: '750001232', juridique: '750712184', raison_sociale: 'Centre de santé des Batignolles' }],
  },
  '810000234566': { given_name: 'Pierre', family_name: 'Remplacé', finess: [] },
};

if (mode === 'prepare') {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(privateKey)), alg: 'RS256', use: 'sig' };
  jwk.kid = await jose.calculateJwkThumbprint(jwk);
  const { d, p, q, dp, dq, qi, ...publicJwk } = jwk;
  writeFileSync(join(dirArg, 'client-key.json'), JSON.stringify(jwk));
  writeFileSync(join(dirArg, 'client-jwks.json'), JSON.stringify({ keys: [publicJwk] }));
  writeFileSync(join(dirArg, 'users.json'), JSON.stringify(USERS, null, 2));
  process.exit(0);
}

// --- Settings --------------------------------------------------------------------------------

const env = Object.fromEntries(readFileSync(join(dirArg, 'env'), 'utf8').split('\n')
  .filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const ISSUER = env.PSC_ISSUER;
const ORIGIN = new URL(ISSUER).origin;
const list = (name) => (process.env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const [REDIRECT_URI] = list('PSC_REDIRECT_URIS');
const [POST_LOGOUT_URI] = list('PSC_POST_LOGOUT_REDIRECT_URIS');
const BACKCHANNEL_URI = process.env.PSC_BACKCHANNEL_LOGOUT_URI;
const CLIENT_KEY = join(dirArg, 'client-key.json');
const usersFileGiven = Boolean(process.env.PSC_USERS_FILE);
const pkjwtGiven = Boolean(process.env.PSC_CLIENT_JWKS_FILE);
if (!ISSUER || !REDIRECT_URI) {
  console.error('selftest: needs <dir>/env with PSC_ISSUER and PSC_REDIRECT_URIS in the environment');
  process.exit(2);
}
const SECRET = 'passerelle-secret';
const TIMEOUT = 10_000;

// --- A minimal browser: cookies per host, redirects followed by hand ------------------------

class Browser {
  #cookies = new Map(); // `${host} ${name}` -> { host, name, value, path }

  #header(url) {
    const sent = [...this.#cookies.values()]
      .filter((c) => c.host === url.host && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
      .map((c) => `${c.name}=${c.value}`);
    return sent.length ? sent.join('; ') : undefined;
  }

  #store(url, response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      const attr = Object.fromEntries(attributes.map((a) => {
        const i = a.indexOf('=');
        return i < 0 ? [a.toLowerCase(), true] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
      }));
      const key = `${url.host} ${name}`;
      const expired = attr.expires && Date.parse(attr.expires) <= Date.now();
      if (expired || value === '') this.#cookies.delete(key);
      else this.#cookies.set(key, { host: url.host, name, value, path: attr.path || '/' });
    }
  }

  hosts() {
    return new Set([...this.#cookies.values()].map((c) => c.host));
  }

  async request(target, { method = 'GET', form } = {}) {
    const url = new URL(target);
    const headers = {};
    const cookie = this.#header(url);
    if (cookie) headers.cookie = cookie;
    let body;
    if (form) {
      body = new URLSearchParams(form);
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT) });
    this.#store(url, response);
    return response;
  }

  // Follows redirects (GET) until one goes to `stopAt` (not followed: the relying party's URL) or
  // a page answers. Returns { callback: URL } or { response, html, url }.
  async browse(target, { method = 'GET', form, stopAt = REDIRECT_URI } = {}) {
    let url = target;
    let response = await this.request(url, { method, form });
    for (let hops = 0; hops < 10; hops += 1) {
      if (response.status < 300 || response.status > 399) {
        const html = await response.text();
        // oidc-provider's self-submitting form (as a browser with JavaScript does): when another
        // professional signs in over a session, it signs the previous one out first.
        const autoPost = /document\.forms\[0\]\.submit\(\)/.test(html) && /<form method="post" action="([^"]+)"/.exec(html);
        if (!autoPost) return { response, html, url };
        const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], m[2]]));
        url = new URL(autoPost[1].replace(/&amp;/g, '&'), url).href;
        response = await this.request(url, { method: 'POST', form: fields });
        continue;
      }
      await response.arrayBuffer();
      const next = new URL(response.headers.get('location'), url).href;
      if (stopAt && next.startsWith(stopAt)) return { callback: new URL(next) };
      url = next;
      response = await this.request(url);
    }
    throw new Error(`too many redirects from ${target}`);
  }
}

// --- Helpers ---------------------------------------------------------------------------------

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const random = () => b64url(randomBytes(16));
// A page's text, short, for failure messages.
const text = (html = '') => html.replace(/<style[^]*?<\/style>|<script[^]*?<\/script>/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 400);

let discovery;
let jwks;

// The sign-in form's fields, checked against the contract (French labels, plain form).
function parseSignInForm(html) {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  assert.ok(action, 'sign-in page has a POST form');
  for (const needle of ['<label for="identifiant">Identifiant national</label>', 'name="identifiant"',
    'name="moyen" value="CARD"', 'name="moyen" value="MOBILE"', '>Carte CPS</label>', '>e-CPS</label>',
    '>Se connecter</button>', '>Annuler</button>']) {
    assert.ok(html.includes(needle), `sign-in page contains ${needle}`);
  }
  assert.ok(!/<script/i.test(html), 'sign-in page needs no JavaScript');
  return action.replace(/&amp;/g, '&');
}

// One authorization request, through the sign-in page if the browser has no session there.
// Returns the parameters the relying party receives, with what it needs to redeem the code.
async function authorize({
  clientId = 'passerelle', identifiant = '810100000017', moyen = 'CARD', browser = new Browser(),
  cancel = false, pkce = true, expectForm = true, extra = {},
} = {}) {
  const verifier = b64url(randomBytes(32));
  const state = random();
  const nonce = random();
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'openid scope_all',
    acr_values: 'eidas1',
    state,
    nonce,
    ...extra,
    ...(pkce ? { code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256' } : {}),
  });
  let step = await browser.browse(url.href);
  if (!step.callback) {
    assert.ok(expectForm, `expected a redirect back (single sign-on), got the page ${step.url}`);
    assert.equal(step.response.status, 200, `sign-in page ${step.url}`);
    assert.equal(new URL(step.url).hostname, 'localhost', 'the sign-in page is on the wallet host');
    const action = parseSignInForm(step.html);
    const form = cancel ? { identifiant: '', moyen: 'CARD', action: 'annuler' } : { identifiant, moyen, action: 'connexion' };
    step = await browser.browse(new URL(action, step.url).href, { method: 'POST', form });
    assert.ok(step.callback, `the form leads back to the relying party (got ${step.response?.status} ${step.url}: ${text(step.html)})`);
  } else {
    assert.ok(!expectForm, 'expected the sign-in page');
  }
  const params = step.callback.searchParams;
  assert.equal(params.get('state'), state, 'state comes back unchanged');
  assert.equal(params.get('iss'), ISSUER, 'iss in the authorization response (RFC 9207)');
  return { params, verifier, nonce, state, browser, clientId };
}

let clientKey;
// The token request as `clientId` authenticates: its own method, unless `method` says otherwise.
async function tokenRequest(clientId, form, method = undefined) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(form);
  const auth = method ?? { 'passerelle-post': 'post', 'passerelle-pkjwt': 'pkjwt' }[clientId] ?? 'basic';
  if (auth === 'post') {
    body.set('client_id', clientId);
    body.set('client_secret', SECRET);
  } else if (auth === 'pkjwt') {
    clientKey ??= await jose.importJWK(JSON.parse(readFileSync(CLIENT_KEY, 'utf8')), 'RS256');
    const assertion = await new jose.SignJWT({ jti: random() })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(clientId).setSubject(clientId).setAudience(discovery.token_endpoint)
      .setIssuedAt().setExpirationTime('60s')
      .sign(clientKey);
    body.set('client_id', clientId);
    body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    body.set('client_assertion', assertion);
  } else {
    headers.authorization = `Basic ${Buffer.from(`${clientId}:${SECRET}`).toString('base64')}`;
  }
  const response = await fetch(discovery.token_endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(TIMEOUT) });
  return { status: response.status, body: await response.json() };
}

async function redeem(auth) {
  const code = auth.params.get('code');
  assert.ok(code, `a code (got ${auth.params})`);
  return tokenRequest(auth.clientId, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: auth.verifier,
  });
}

async function signInAndRedeem(options) {
  const auth = await authorize(options);
  const token = await redeem(auth);
  assert.equal(token.status, 200, `token endpoint: ${JSON.stringify(token.body)}`);
  return { auth, token: token.body };
}

async function verifyIdToken(idToken, clientId) {
  return jose.jwtVerify(idToken, jwks, { issuer: ISSUER, audience: clientId, algorithms: ['RS256'] });
}

async function userinfo(accessToken) {
  const response = await fetch(discovery.userinfo_endpoint, {
    headers: { authorization: `Bearer ${accessToken}` }, signal: AbortSignal.timeout(TIMEOUT),
  });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

async function testApi(path, body) {
  const response = await fetch(`${ORIGIN}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT),
  });
  return { status: response.status, body: await response.json() };
}

function subOf(identifier) {
  return new RegExp(`^f:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:${identifier}$`);
}

// The claims every token and userinfo response carries for `identifier` signed in with `moyen`.
function assertPscClaims(claims, identifier, moyen, where) {
  assert.match(claims.sub, subOf(identifier), `${where}: sub`);
  assert.equal(claims.SubjectNameID, identifier, `${where}: SubjectNameID`);
  assert.equal(claims.preferred_username, identifier, `${where}: preferred_username`);
  assert.equal(claims.authMode, moyen, `${where}: authMode`);
  assert.equal(claims.acr, moyen === 'CARD' ? 'eidas3' : 'eidas2', `${where}: acr`);
  assert.ok(claims.given_name && claims.family_name, `${where}: names`);
  assert.equal(typeof claims.SubjectOrganization, 'string', `${where}: SubjectOrganization`);
  assert.ok(Array.isArray(claims.SubjectRole) && claims.SubjectRole.length > 0, `${where}: SubjectRole`);
  const [exercice] = claims.SubjectRefPro.exercices;
  assert.equal(exercice.codeProfession, '10', `${where}: codeProfession`);
  assert.equal(exercice.codeSavoirFaire, 'SM26', `${where}: codeSavoirFaire`);
  assert.ok(Array.isArray(exercice.activities), `${where}: activities`);
  if (identifier.startsWith('8')) {
    assert.deepEqual(claims.otherIds, [{ identifiant: identifier.slice(1), origine: 'RPPS' }], `${where}: otherIds`);
  }
}

// The relying party's back-channel logout endpoint: records the logout tokens it receives and
// answers with `answer` (200 unless a test changes it).
function startBackchannelListener() {
  const target = new URL(BACKCHANNEL_URI);
  const received = []; // tokens not taken yet
  const waiting = []; // { sid, deliver }
  const sidOf = (token) => jose.decodeJwt(token).sid;
  const listener = {
    answer: 200,
    // The logout token for session `sid` (already received, or the next one to come).
    take(sid, timeout = TIMEOUT) {
      const i = received.findIndex((token) => sidOf(token) === sid);
      if (i >= 0) return Promise.resolve(received.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const waiter = { sid, deliver: resolve };
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          reject(new Error(`no logout token received for sid ${sid}`));
        }, timeout);
        waiter.deliver = (token) => { clearTimeout(timer); resolve(token); };
        waiting.push(waiter);
      });
    },
    pending: () => received.map(sidOf),
  };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const ok = req.method === 'POST' && new URL(req.url, BACKCHANNEL_URI).pathname === target.pathname
      && req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') && form.get('logout_token');
    res.writeHead(ok ? listener.answer : 400, { 'cache-control': 'no-store' }).end();
    if (!ok) return;
    const token = form.get('logout_token');
    const i = waiting.findIndex((w) => w.sid === sidOf(token));
    if (i >= 0) waiting.splice(i, 1)[0].deliver(token);
    else received.push(token);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(Number(target.port), target.hostname, () => resolve({ listener, server }));
  });
}

async function assertLogoutToken(token, { clientId, sub, sid }) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
    issuer: ISSUER, audience: clientId, algorithms: ['RS256'], typ: 'logout+jwt',
  });
  assert.equal(protectedHeader.typ, 'logout+jwt');
  if (sub) assert.equal(payload.sub, sub, 'logout token sub');
  assert.equal(payload.sid, sid, 'logout token sid');
  assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} }, 'logout token events');
  assert.ok(payload.jti && payload.iat, 'logout token jti and iat');
  assert.equal(payload.nonce, undefined, 'no nonce in a logout token');
  return payload;
}

// --- The checks ------------------------------------------------------------------------------

let passed = 0;
let failed = 0;
async function check(name, fn, { skip } = {}) {
  if (skip) {
    console.log(`skip - ${name}: ${skip}`);
    return;
  }
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAILED - ${name}\n    ${String(err.stack ?? err).split('\n').slice(0, 4).join('\n    ')}`);
  }
}

await check('discovery at the non-standard PSC path, endpoints like Keycloak, authorization on the wallet host', async () => {
  const response = await fetch(`${ISSUER}/.well-known/wallet-openid-configuration`, { signal: AbortSignal.timeout(TIMEOUT) });
  assert.equal(response.status, 200);
  discovery = await response.json();
  const oidc = `${ISSUER}/protocol/openid-connect`;
  assert.equal(discovery.issuer, ISSUER);
  assert.equal(discovery.authorization_endpoint, `http://localhost:${new URL(ISSUER).port}/auth`);
  assert.equal(discovery.token_endpoint, `${oidc}/token`);
  assert.equal(discovery.userinfo_endpoint, `${oidc}/userinfo`);
  assert.equal(discovery.jwks_uri, `${oidc}/certs`);
  assert.equal(discovery.end_session_endpoint, `${oidc}/logout`);
  assert.equal(discovery.introspection_endpoint, `${oidc}/token/introspect`);
  for (const scope of ['openid', 'scope_all']) assert.ok(discovery.scopes_supported.includes(scope), scope);
  assert.deepEqual(discovery.acr_values_supported, ['eidas1', 'eidas2', 'eidas3']);
  assert.equal(discovery.backchannel_logout_supported, true);
  assert.equal(discovery.backchannel_logout_session_supported, true);
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  for (const m of ['client_secret_basic', 'client_secret_post', 'private_key_jwt']) {
    assert.ok(discovery.token_endpoint_auth_methods_supported.includes(m), m);
  }
  assert.ok(discovery.userinfo_signing_alg_values_supported.includes('RS256'));
  assert.ok(discovery.id_token_signing_alg_values_supported.includes('RS256'));
  jwks = jose.createRemoteJWKSet(new URL(discovery.jwks_uri));
});

if (!discovery) {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(1);
}

// The relying party's back-channel logout endpoint, played by this test.
const backchannel = BACKCHANNEL_URI ? await startBackchannelListener() : undefined;
const noBackchannel = BACKCHANNEL_URI ? undefined : 'PSC_BACKCHANNEL_LOGOUT_URI not set';

await check('the standard discovery paths answer 404', async () => {
  for (const url of [`${ISSUER}/.well-known/openid-configuration`, `${ORIGIN}/.well-known/openid-configuration`,
    `${ORIGIN}/.well-known/oauth-authorization-server`]) {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT) });
    assert.equal(response.status, 404, url);
  }
});

await check('each host serves only its own paths', async () => {
  const onIssuerHost = await fetch(`${ORIGIN}/auth?client_id=passerelle`, { redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT) });
  assert.equal(onIssuerHost.status, 404, 'no authorization endpoint on the issuer host');
  const wallet = new URL(discovery.authorization_endpoint).origin;
  const tokenOnWallet = await fetch(`${wallet}${new URL(discovery.token_endpoint).pathname}`, { method: 'POST', signal: AbortSignal.timeout(TIMEOUT) });
  assert.equal(tokenOnWallet.status, 404, 'no token endpoint on the wallet host');
});

let cardSignIn; // the passerelle sign-in below, reused for the logout checks
await check('passerelle (client_secret_basic): sign-in with a card, PKCE, ID token and JSON userinfo with the PSC claims', async () => {
  const { auth, token } = await signInAndRedeem({ clientId: 'passerelle', identifiant: '810100000017', moyen: 'CARD' });
  assert.equal(token.token_type, 'Bearer');
  assert.ok(token.access_token);
  assert.ok(token.scope.split(' ').includes('scope_all'), `granted scope ${token.scope}`);
  const { payload, protectedHeader } = await verifyIdToken(token.id_token, 'passerelle');
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.nonce, auth.nonce, 'nonce');
  assert.ok(payload.sid, 'sid');
  assert.ok(Math.abs(payload.auth_time - Date.now() / 1000) < 60, 'auth_time');
  assertPscClaims(payload, '810100000017', 'CARD', 'ID token');
  assert.equal(payload.given_name, 'Hélène');
  assert.equal(payload.family_name, 'Girard');
  assert.equal(payload.SubjectRefPro.exercices[0].activities[0].numeroFinessSite, '750712184');
  const info = await userinfo(token.access_token);
  assert.equal(info.status, 200);
  assert.match(info.type, /^application\/json/);
  const claims = JSON.parse(info.text);
  assertPscClaims(claims, '810100000017', 'CARD', 'userinfo');
  assert.equal(claims.sub, payload.sub, 'same sub in userinfo');
  assert.deepEqual(claims.SubjectRefPro, payload.SubjectRefPro);
  assert.ok(auth.browser.hosts().has(new URL(discovery.authorization_endpoint).host), 'cookies on the wallet host');
  assert.ok(!auth.browser.hosts().has(new URL(ISSUER).host), 'no cookie on the issuer host');
  cardSignIn = { auth, token, idToken: payload };
});

await check('a replayed authorization code is refused (invalid_grant), and its tokens revoked', async () => {
  const auth = await authorize({ identifiant: '810100000017' });
  const first = await redeem(auth);
  assert.equal(first.status, 200);
  const again = await redeem(auth);
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
  assert.equal((await userinfo(first.body.access_token)).status, 401);
});

await check('PKCE is required: no code_challenge, or a wrong code_verifier, is refused', async () => {
  // The error goes back to the relying party at once, before any sign-in page.
  const auth = await authorize({ pkce: false, expectForm: false });
  assert.equal(auth.params.get('error'), 'invalid_request');
  assert.match(auth.params.get('error_description'), /PKCE/);
  const good = await authorize();
  const wrong = await tokenRequest('passerelle', {
    grant_type: 'authorization_code', code: good.params.get('code'), redirect_uri: REDIRECT_URI, code_verifier: b64url(randomBytes(32)),
  });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error, 'invalid_grant');
});

await check('passerelle-jwt: e-CPS sign-in, userinfo as a signed JWT (application/jwt)', async () => {
  const { auth, token } = await signInAndRedeem({ clientId: 'passerelle-jwt', identifiant: '810000123454', moyen: 'MOBILE' });
  const { payload } = await verifyIdToken(token.id_token, 'passerelle-jwt');
  assert.equal(payload.nonce, auth.nonce);
  assertPscClaims(payload, '810000123454', 'MOBILE', 'ID token');
  const info = await userinfo(token.access_token);
  assert.equal(info.status, 200);
  assert.match(info.type, /^application\/jwt/);
  const { payload: claims, protectedHeader } = await jose.jwtVerify(info.text, jwks, { issuer: ISSUER, audience: 'passerelle-jwt' });
  assert.equal(protectedHeader.alg, 'RS256');
  assertPscClaims(claims, '810000123454', 'MOBILE', 'userinfo JWT');
  assert.equal(claims.SubjectRefPro.exercices[0].activities.length, 2);
  assert.equal(claims.sub, payload.sub);
});

await check('single sign-on: a second request from the same browser skips the sign-in page', async () => {
  const browser = new Browser();
  await signInAndRedeem({ clientId: 'passerelle', identifiant: '810000345677', browser });
  const { auth, token } = await signInAndRedeem({ clientId: 'passerelle-post', browser, expectForm: false });
  const { payload } = await verifyIdToken(token.id_token, 'passerelle-post');
  assert.equal(payload.nonce, auth.nonce);
  assertPscClaims(payload, '810000345677', 'CARD', 'ID token');
});

await check('prompt=login shows the sign-in page despite the session; someone else may sign in', async () => {
  const browser = new Browser();
  const first = await signInAndRedeem({ identifiant: '810000345677', browser });
  const { token } = await signInAndRedeem({ identifiant: '810000123454', moyen: 'MOBILE', browser, extra: { prompt: 'login' } });
  const { payload } = await verifyIdToken(token.id_token, 'passerelle');
  assertPscClaims(payload, '810000123454', 'MOBILE', 'ID token');
  const info = JSON.parse((await userinfo(token.access_token)).text);
  assertPscClaims(info, '810000123454', 'MOBILE', 'userinfo');
  // oidc-provider signs the previous professional out first, back-channel logout included.
  const previous = jose.decodeJwt(first.token.id_token);
  if (backchannel) {
    await assertLogoutToken(await backchannel.listener.take(previous.sid), { clientId: 'passerelle', sub: previous.sub, sid: previous.sid });
  }
  assert.equal((await userinfo(first.token.access_token)).status, 401, "the previous session's access token is revoked");
});

await check('passerelle-post (client_secret_post): an unknown identifier gets generic claims and no activities', async () => {
  const { token } = await signInAndRedeem({ clientId: 'passerelle-post', identifiant: '810999999999', moyen: 'MOBILE' });
  const info = await userinfo(token.access_token);
  assert.match(info.type, /^application\/json/);
  const claims = JSON.parse(info.text);
  assertPscClaims(claims, '810999999999', 'MOBILE', 'userinfo');
  assert.equal(claims.given_name, 'Professionnel');
  assert.equal(claims.family_name, '810999999999');
  assert.deepEqual(claims.SubjectRefPro.exercices[0].activities, []);
});

await check("each client authenticates with its own method only; another client's code is refused", async () => {
  for (const [clientId, wrong] of [['passerelle-post', 'basic'], ['passerelle', 'post']]) {
    const auth = await authorize({ clientId, identifiant: '810999999999' });
    const redeemAs = (client, method) => tokenRequest(client, {
      grant_type: 'authorization_code', code: auth.params.get('code'), redirect_uri: REDIRECT_URI, code_verifier: auth.verifier,
    }, method);
    const refused = await redeemAs(clientId, wrong);
    assert.equal(refused.status, 401, `${clientId} with ${wrong}: ${JSON.stringify(refused.body)}`);
    assert.equal(refused.body.error, 'invalid_client');
    const other = await redeemAs(clientId === 'passerelle' ? 'passerelle-post' : 'passerelle');
    assert.equal(other.status, 400, JSON.stringify(other.body));
    assert.equal(other.body.error, 'invalid_grant');
  }
});

await check('passerelle-pkjwt (private_key_jwt with the key of PSC_CLIENT_JWKS_FILE)', async () => {
  const { auth, token } = await signInAndRedeem({ clientId: 'passerelle-pkjwt', identifiant: '810000234566' });
  const { payload } = await verifyIdToken(token.id_token, 'passerelle-pkjwt');
  assert.equal(payload.nonce, auth.nonce);
  assertPscClaims(payload, '810000234566', 'CARD', 'ID token');
}, { skip: pkjwtGiven ? undefined : 'PSC_CLIENT_JWKS_FILE not set' });

await check('PSC_USERS_FILE adds professionals and overrides built-in ones', async () => {
  const { token } = await signInAndRedeem({ identifiant: FILE_USER, moyen: 'CARD' });
  const { payload } = await verifyIdToken(token.id_token, 'passerelle');
  assertPscClaims(payload, FILE_USER, 'CARD', 'ID token');
  assert.equal(payload.given_name, 'Jeanne');
  assert.equal(payload.family_name, 'Fichier');
  assert.deepEqual(payload.SubjectRefPro.exercices[0].activities, [{
    numeroFinessSite: '750001232', numeroFinessetablissementJuridique: '750712184', raisonSocialeSite: 'Centre de santé des Batignolles',
  }]);
  assert.equal(payload.SubjectOrganization, 'Centre de santé des Batignolles');
  const other = await signInAndRedeem({ identifiant: '810000234566', moyen: 'MOBILE' });
  const { payload: overridden } = await verifyIdToken(other.token.id_token, 'passerelle');
  assert.equal(overridden.family_name, 'Remplacé');
}, { skip: usersFileGiven ? undefined : 'PSC_USERS_FILE not set' });

await check('the sign-in form refuses an empty identifier, in French', async () => {
  const browser = new Browser();
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: 'passerelle', redirect_uri: REDIRECT_URI, scope: 'openid scope_all', state: random(),
    code_challenge: b64url(randomBytes(32)), code_challenge_method: 'S256',
  });
  const page = await browser.browse(url.href);
  const action = parseSignInForm(page.html);
  const again = await browser.browse(new URL(action, page.url).href, { method: 'POST', form: { identifiant: ' ', moyen: 'CARD', action: 'connexion' } });
  assert.equal(again.response.status, 400);
  assert.match(again.html, /Saisissez votre identifiant national/);
  parseSignInForm(again.html);
});

await check('"Annuler" ends the authorization with error=access_denied and the state', async () => {
  const auth = await authorize({ cancel: true });
  assert.equal(auth.params.get('error'), 'access_denied');
  assert.equal(auth.params.get('code'), null);
});

await check('introspection of an access token by its client', async () => {
  const { token } = await signInAndRedeem({ identifiant: '810100000017', moyen: 'MOBILE' });
  const response = await fetch(discovery.introspection_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`passerelle:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: token.access_token }),
    signal: AbortSignal.timeout(TIMEOUT),
  });
  const body = await response.json();
  assert.equal(body.active, true);
  assert.equal(body.client_id, 'passerelle');
  assert.equal(body.acr, 'eidas2');
  assert.match(body.sub, subOf('810100000017'));
});

// Each fault: set, one sign-in whose ID token is wrong in exactly that way, then back to normal.
const FAULTS = {
  'wrong-nonce': async (idToken, auth) => {
    const { payload } = await verifyIdToken(idToken, 'passerelle');
    assert.ok(payload.nonce && payload.nonce !== auth.nonce, 'nonce differs from the request');
  },
  'expired-id-token': async (idToken) => {
    await assert.rejects(verifyIdToken(idToken, 'passerelle'), { code: 'ERR_JWT_EXPIRED' });
    const payload = jose.decodeJwt(idToken);
    assert.ok(payload.exp <= Date.now() / 1000 - 590 && payload.iat < payload.exp, `exp ${payload.exp} iat ${payload.iat}`);
    await jose.compactVerify(idToken, jwks); // correctly signed
  },
  'wrong-audience': async (idToken) => {
    await assert.rejects(verifyIdToken(idToken, 'passerelle'), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
    const { payload } = await jose.jwtVerify(idToken, jwks, { issuer: ISSUER });
    assert.equal(payload.aud, 'someone-else');
  },
  'wrong-issuer': async (idToken) => {
    await assert.rejects(verifyIdToken(idToken, 'passerelle'), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iss' });
    const { payload } = await jose.jwtVerify(idToken, jwks, { audience: 'passerelle' });
    assert.notEqual(payload.iss, ISSUER);
  },
  'bad-signature': async (idToken) => {
    await assert.rejects(verifyIdToken(idToken, 'passerelle'), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    const { keys } = await (await fetch(discovery.jwks_uri)).json();
    assert.equal(jose.decodeProtectedHeader(idToken).kid, keys[0].kid, 'same kid as the real key');
    assert.equal(jose.decodeJwt(idToken).aud, 'passerelle', 'claims untouched');
  },
};
for (const [fault, assertWrong] of Object.entries(FAULTS)) {
  await check(`fault next_token=${fault}: the next ID token only, then normal again`, async () => {
    const set = await testApi('/test/faults', { next_token: fault });
    assert.equal(set.status, 200);
    assert.equal(set.body.next_token, fault);
    const first = await signInAndRedeem({ identifiant: '810100000017' });
    await assertWrong(first.token.id_token, first.auth);
    assert.equal((await testApi('/test/faults')).body.next_token, 'none', 'fault reset after one use');
    const second = await signInAndRedeem({ identifiant: '810100000017' });
    const { payload } = await verifyIdToken(second.token.id_token, 'passerelle');
    assert.equal(payload.nonce, second.auth.nonce);
  });
}

await check('fault API: an unknown fault is refused; next_token "none" disarms', async () => {
  assert.equal((await testApi('/test/faults', { next_token: 'everything' })).status, 400);
  assert.equal((await testApi('/test/faults', { down: 'yes' })).status, 400);
  await testApi('/test/faults', { next_token: 'wrong-nonce' });
  assert.equal((await testApi('/test/faults', { next_token: 'none' })).body.next_token, 'none');
  const { auth, token } = await signInAndRedeem({ identifiant: '810100000017' });
  assert.equal((await verifyIdToken(token.id_token, 'passerelle')).payload.nonce, auth.nonce);
});

await check('fault down: token and userinfo answer 503 while down, and work again after', async () => {
  const ready = await signInAndRedeem({ identifiant: '810100000017' });
  const auth = await authorize({ identifiant: '810100000017' });
  try {
    assert.deepEqual((await testApi('/test/faults', { down: true })).body, { next_token: 'none', down: true });
    const during = await redeem(auth);
    assert.equal(during.status, 503);
    assert.equal((await userinfo(ready.token.access_token)).status, 503);
  } finally {
    await testApi('/test/faults', { down: false });
  }
  // The code was not consumed by the outage.
  const after = await redeem(auth);
  assert.equal(after.status, 200, JSON.stringify(after.body));
  assert.equal((await userinfo(ready.token.access_token)).status, 200);
});


await check('POST /test/backchannel-logout sends a signed logout token and returns the RP status', async () => {
  const { listener } = backchannel;
  const sub = 'f:00000000-0000-8000-a000-000000000000:810100000017';
  const sent = await testApi('/test/backchannel-logout', { sid: 'sid-selftest', sub, client_id: 'passerelle-jwt' });
  assert.deepEqual(sent, { status: 200, body: { status: 200 } });
  const token = await listener.take('sid-selftest');
  await assertLogoutToken(token, { clientId: 'passerelle-jwt', sub, sid: 'sid-selftest' });
  const last = await testApi('/test/last-logout-token');
  assert.equal(last.body.logout_token, token, 'GET /test/last-logout-token gives it back (for a replay)');
  // The relying party's refusal is reported as it is.
  listener.answer = 400;
  try {
    assert.deepEqual((await testApi('/test/backchannel-logout', { sid: 'sid-2', client_id: 'passerelle' })).body, { status: 400 });
    await listener.take('sid-2');
  } finally {
    listener.answer = 200;
  }
  assert.equal((await testApi('/test/backchannel-logout', { sid: 'x', client_id: 'nobody' })).status, 404);
}, { skip: noBackchannel });

await check('sign-out at the provider ("Se déconnecter"): logout token with the session\'s sid, back to post_logout_redirect_uri', async () => {
  const { listener } = backchannel;
  assert.ok(cardSignIn, 'the card sign-in check passed');
  const { auth, token, idToken } = cardSignIn;
  const url = new URL(discovery.end_session_endpoint);
  const state = random();
  url.search = new URLSearchParams({
    id_token_hint: token.id_token, ...(POST_LOGOUT_URI ? { post_logout_redirect_uri: POST_LOGOUT_URI } : {}), state,
  });
  // The issuer host sends the browser to the wallet host, where its session cookie is.
  const page = await auth.browser.browse(url.href);
  assert.equal(page.response.status, 200);
  assert.equal(new URL(page.url).hostname, 'localhost');
  assert.ok(page.html.includes('>Se déconnecter</button>'), 'confirmation page');
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(page.html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.html)?.[1];
  assert.ok(action && xsrf, 'confirmation form');
  const done = await auth.browser.browse(action, {
    method: 'POST', form: { xsrf, logout: 'yes' }, stopAt: POST_LOGOUT_URI ?? 'none:',
  });
  if (POST_LOGOUT_URI) {
    assert.ok(done.callback, 'back to the relying party');
    assert.equal(done.callback.searchParams.get('state'), state);
  }
  const logoutToken = await listener.take(idToken.sid);
  await assertLogoutToken(logoutToken, { clientId: 'passerelle', sub: idToken.sub, sid: idToken.sid });
  assert.equal((await testApi('/test/last-logout-token')).body.logout_token, logoutToken);
  // The session is over: the next authorization shows the sign-in page again.
  await authorize({ browser: auth.browser, expectForm: true });
}, { skip: noBackchannel });

if (backchannel?.listener.pending().length) {
  console.log(`note: logout tokens received and not checked, for sids ${backchannel.listener.pending().join(', ')}`);
}
backchannel?.server.close();
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
