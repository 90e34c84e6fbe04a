// A real OpenID Connect provider (panva's oidc-provider) configured like Pro Santé Connect, for
// Passerelle's tests. It runs on loopback only and keeps everything in memory (a fresh signing key
// at every start). See README.md beside this file for the contract the relying party relies on.
//
//   PSC_PORT=4100 PSC_REDIRECT_URIS=http://127.0.0.1:3900/connexion/psc/retour node server.mjs
//
// Two host names reach this one process, like PSC's two hosts:
//   http://127.0.0.1:PORT  the issuer ("auth" host): discovery, token, userinfo, certs,
//                          introspection, and the test-control API under /test/;
//   http://localhost:PORT  the "wallet" host where the browser signs in: the authorization
//                          endpoint /auth, the sign-in page /interaction/…, and end-session.
// Each host answers 404 for the other's paths, so a relying party that does not follow the
// discovery document fails its tests instead of working by accident.

import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

import * as jose from 'jose';

// oidc-provider 9 names Node 22 as its minimum and warns on Node 20, but what it uses of Node
// (URL.parse, crypto.hash) is there from Node 20.18 on: the selftest covers every path used here.
if (typeof URL.parse !== 'function') {
  console.error('psc-provider: needs Node.js 20.18 or later');
  process.exit(2);
}
// (A dynamic import: a static one would run before this check.)
const { default: Provider, errors } = await import('oidc-provider');

// --- Settings from the environment ----------------------------------------------------------

function fail(message) {
  console.error(`psc-provider: ${message}`);
  process.exit(2);
}

function list(name) {
  return (process.env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

const port = Number(process.env.PSC_PORT);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail('PSC_PORT must be a TCP port number');
const redirectUris = list('PSC_REDIRECT_URIS');
if (redirectUris.length === 0) fail('PSC_REDIRECT_URIS is required (comma-separated redirect URIs)');
const postLogoutRedirectUris = list('PSC_POST_LOGOUT_REDIRECT_URIS');
const backchannelLogoutUri = process.env.PSC_BACKCHANNEL_LOGOUT_URI || undefined;
const clientJwksFile = process.env.PSC_CLIENT_JWKS_FILE || undefined;
const usersFile = process.env.PSC_USERS_FILE || undefined;
// For the demo (scripts/run.sh): the sign-in page lists the professionals it knows.
const showIdentities = process.env.PSC_SHOW_IDENTITIES === '1';

const REALM_PATH = '/auth/realms/esante-wallet';
const ISSUER_ORIGIN = `http://127.0.0.1:${port}`;
const WALLET_ORIGIN = `http://localhost:${port}`;
const ISSUER = `${ISSUER_ORIGIN}${REALM_PATH}`;
const OIDC_PATH = `${REALM_PATH}/protocol/openid-connect`;
const DISCOVERY_PATH = `${REALM_PATH}/.well-known/wallet-openid-configuration`;

const routes = {
  authorization: '/auth', // on the wallet host
  token: `${OIDC_PATH}/token`,
  userinfo: `${OIDC_PATH}/userinfo`,
  jwks: `${OIDC_PATH}/certs`,
  end_session: `${OIDC_PATH}/logout`,
  introspection: `${OIDC_PATH}/token/introspect`,
};

// --- Professionals ---------------------------------------------------------------------------

// Built-in professionals: the demo accounts that have an RPPS number (`passerelle demo seed`),
// and 810100000017. PSC_USERS_FILE adds to or overrides this table.
const BUILT_IN_USERS = {
  '810100000017': {
    given_name: 'Hélène',
    family_name: 'Girard',
    code_civilite: 'MME',
    finess: [{ site: '750712184', juridique: '750712184', raison_sociale: 'Assistance Publique – Hôpitaux de Paris' }],
  },
  '810000123454': {
    given_name: 'Claire',
    family_name: 'Martin',
    code_civilite: 'MME',
    finess: [
      { site: '750712184', juridique: '750712184', raison_sociale: 'Assistance Publique – Hôpitaux de Paris' },
      { site: '750001232', juridique: '750001232', raison_sociale: 'Centre de santé des Batignolles' },
    ],
  },
  '810000234566': {
    given_name: 'Paul',
    family_name: 'Durand',
    finess: [{ site: '930004569', juridique: '930004569', raison_sociale: 'Maison de santé de Saint-Denis' }],
  },
  '810000345677': {
    given_name: 'Hélène',
    family_name: 'Leclerc',
    code_civilite: 'MME',
    finess: [{ site: '690781810', juridique: '690781810', raison_sociale: 'Hospices Civils de Lyon' }],
  },
};

// The users file is read again at every look-up: a test may write it after the provider started.
function usersTable() {
  if (!usersFile) return BUILT_IN_USERS;
  let extra;
  try {
    extra = JSON.parse(readFileSync(usersFile, 'utf8'));
  } catch (err) {
    throw new Error(`PSC_USERS_FILE ${usersFile} is unreadable: ${err.message}`);
  }
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) {
    throw new Error(`PSC_USERS_FILE ${usersFile} must hold a JSON object (identifier → professional)`);
  }
  return { ...BUILT_IN_USERS, ...extra };
}

// A national identifier as PSC shows it: 8 + RPPS, 0 + ADELI, 3 + FINESS/… (with a "/" inside).
const IDENTIFIER = /^[0-9A-Za-z][0-9A-Za-z/_-]{0,63}$/;

// PSC's `sub` is its broker's internal id, `f:<uuid>:<IdNat>`; the uuid here is derived from the
// identifier so that it is stable across restarts.
function subFor(identifier) {
  const h = createHash('sha256').update(`psc-test:${identifier}`).digest('hex');
  return `f:${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}:${identifier}`;
}

function identifierOf(sub) {
  const m = /^f:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:(.+)$/.exec(sub);
  return m && IDENTIFIER.test(m[1]) && subFor(m[1]) === sub ? m[1] : undefined;
}

const AUTH_MODES = { CARD: 'eidas3', MOBILE: 'eidas2' };
const modeOfAcr = (acr) => Object.keys(AUTH_MODES).find((mode) => AUTH_MODES[mode] === acr);

function otherIds(identifier) {
  if (identifier.startsWith('8')) return [{ identifiant: identifier.slice(1), origine: 'RPPS' }];
  if (identifier.startsWith('0')) return [{ identifiant: identifier.slice(1), origine: 'ADELI' }];
  return [];
}

// Every claim PSC gives for `scope_all`, for the identifier; `acr` is the one of this sign-in.
function pscClaims(identifier, acr) {
  const table = usersTable();
  const user = (Object.hasOwn(table, identifier) && table[identifier]) || {};
  const profession = user.code_profession ?? '10';
  const activities = (user.finess ?? []).map((f) => ({
    numeroFinessSite: f.site,
    numeroFinessetablissementJuridique: f.juridique ?? f.site,
    raisonSocialeSite: f.raison_sociale ?? '',
  }));
  const claims = {
    SubjectNameID: identifier,
    preferred_username: identifier,
    given_name: user.given_name ?? 'Professionnel',
    family_name: user.family_name ?? identifier,
    SubjectRefPro: {
      codeCivilite: user.code_civilite ?? 'M',
      exercices: [{
        codeProfession: profession,
        codeCategorieProfessionnelle: user.code_categorie_professionnelle ?? 'C',
        codeSavoirFaire: user.code_savoir_faire ?? 'SM26',
        activities,
      }],
    },
    otherIds: otherIds(identifier),
    SubjectOrganization: user.organization ?? activities[0]?.raisonSocialeSite ?? '',
    SubjectRole: [`${profession}^1.2.250.1.213.1.1.5.5`],
  };
  if (acr) {
    claims.acr = acr;
    claims.authMode = modeOfAcr(acr);
  }
  return claims;
}

try {
  usersTable(); // a broken users file stops the start, not the first sign-in
} catch (err) {
  fail(err.message);
}

const SCOPE_ALL_CLAIMS = [
  'SubjectNameID', 'preferred_username', 'given_name', 'family_name', 'authMode', 'acr',
  'SubjectRefPro', 'otherIds', 'SubjectOrganization', 'SubjectRole',
];

// --- Keys and clients -----------------------------------------------------------------------

async function rsaKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  return privateKey;
}
const signingKey = await rsaKey();
const signingJwk = { ...(await jose.exportJWK(signingKey)), alg: 'RS256', use: 'sig' };
signingJwk.kid = await jose.calculateJwkThumbprint(signingJwk);
// Signs the "bad-signature" ID tokens: same kid, a key the relying party cannot know.
const throwawayKey = await rsaKey();

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];
function clientJwks() {
  let jwks;
  try {
    jwks = JSON.parse(readFileSync(clientJwksFile, 'utf8'));
  } catch (err) {
    fail(`PSC_CLIENT_JWKS_FILE ${clientJwksFile} is unreadable: ${err.message}`);
  }
  if (!Array.isArray(jwks?.keys)) fail(`PSC_CLIENT_JWKS_FILE ${clientJwksFile} must be a JWKS ({"keys": [...]})`);
  // Only the public part is needed; accepting a private JWK too saves the tests a file.
  return { keys: jwks.keys.map((k) => Object.fromEntries(Object.entries(k).filter(([m]) => !PRIVATE_MEMBERS.includes(m)))) };
}

const common = {
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: redirectUris,
  post_logout_redirect_uris: postLogoutRedirectUris,
  id_token_signed_response_alg: 'RS256',
  require_auth_time: true, // auth_time in every ID token
  ...(backchannelLogoutUri
    ? { backchannel_logout_uri: backchannelLogoutUri, backchannel_logout_session_required: true }
    : {}),
};
const clients = [
  { ...common, client_id: 'passerelle', client_secret: 'passerelle-secret', token_endpoint_auth_method: 'client_secret_basic' },
  {
    ...common,
    client_id: 'passerelle-jwt',
    client_secret: 'passerelle-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    userinfo_signed_response_alg: 'RS256',
  },
  { ...common, client_id: 'passerelle-post', client_secret: 'passerelle-secret', token_endpoint_auth_method: 'client_secret_post' },
];
if (clientJwksFile) {
  clients.push({ ...common, client_id: 'passerelle-pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks: clientJwks() });
}

// --- Pages (French, plain HTML forms: they work without JavaScript) --------------------------

const esc = (s) => String(s ?? '')
  .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} – Pro Santé Connect (test)</title>
<style>
body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#161616}
label,legend{display:block;margin:.75rem 0 .25rem}fieldset{border:0;padding:0}
fieldset label{display:inline;margin-right:1rem}input[type=text]{box-sizing:border-box;width:100%;padding:.4rem;font-size:1rem}
button{margin:1rem .5rem 0 0;padding:.5rem 1rem;font-size:1rem}.erreur{color:#ce0500}
</style>
</head>
<body>
<main>
<p><strong>Pro Santé Connect</strong> — fournisseur de test de Passerelle</p>
${body}
</main>
</body>
</html>`;
}

function signInPage({ uid, clientId, identifiant = '', moyen = 'CARD', error }) {
  const checked = (value) => (moyen === value ? ' checked' : '');
  return page('Connexion', `<h1>Connexion</h1>
<p>Demandée par le service <strong>${esc(clientId)}</strong>.</p>
${error ? `<p class="erreur" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}">
<label for="identifiant">Identifiant national</label>
<input type="text" id="identifiant" name="identifiant" value="${esc(identifiant)}" required autocomplete="username" autofocus>
<fieldset>
<legend>Moyen de connexion</legend>
<input type="radio" id="moyen-carte" name="moyen" value="CARD"${checked('CARD')}>
<label for="moyen-carte">Carte CPS</label>
<input type="radio" id="moyen-ecps" name="moyen" value="MOBILE"${checked('MOBILE')}>
<label for="moyen-ecps">e-CPS</label>
</fieldset>
<button type="submit" name="action" value="connexion">Se connecter</button>
<button type="submit" name="action" value="annuler" formnovalidate>Annuler</button>
</form>${showIdentities ? identitiesList() : ''}`);
}

// The demo's professionals, to copy into the form (an identifier not listed signs in as an
// unknown professional, whom Passerelle asks to link to an account).
function identitiesList() {
  const items = Object.entries(usersTable())
    .map(([id, u]) => `<li><code>${esc(id)}</code> — ${esc(u.given_name)} ${esc(u.family_name)}</li>`)
    .join('\n');
  return `<h2>Identités de démonstration</h2>
<ul>
${items}
</ul>
<p>Tout autre identifiant national (par exemple <code>899700012345</code>) est un professionnel inconnu de Passerelle.</p>`;
}

// --- The provider ----------------------------------------------------------------------------

const provider = new Provider(ISSUER, {
  clients,
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  routes,
  responseTypes: ['code'],
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 knows
  scopes: ['openid', 'scope_all'],
  claims: {
    acr: null,
    auth_time: null,
    sid: null,
    iss: null,
    openid: ['sub'],
    scope_all: SCOPE_ALL_CLAIMS,
  },
  // Keycloak puts the scope's claims in the ID token too, not only in userinfo.
  conformIdTokenClaims: false,
  acrValues: ['eidas1', 'eidas2', 'eidas3'],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  enabledJWA: { userinfoSigningAlgValues: ['RS256'], idTokenSigningAlgValues: ['RS256'] },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 900,
    Session: 4 * 3600,
    Grant: 4 * 3600,
  },
  features: {
    devInteractions: { enabled: false },
    backchannelLogout: { enabled: true },
    introspection: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // `form` is oidc-provider's form (hidden xsrf field); the buttons go inside it.
      async logoutSource(ctx, form) {
        ctx.body = page('Déconnexion', `<h1>Déconnexion</h1>
<p>Voulez-vous vous déconnecter de Pro Santé Connect ?</p>
${form.replace('</form>', `<button type="submit" name="logout" value="yes">Se déconnecter</button>
<button type="submit">Rester connecté</button></form>`)}`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Déconnecté', '<h1>Vous êtes déconnecté</h1><p>Vous pouvez fermer cette page.</p>');
      },
    },
    // PSC shows none of these.
    dPoP: { enabled: false },
    pushedAuthorizationRequests: { enabled: false },
    resourceIndicators: { enabled: false },
  },
  // PSC shows no consent screen: every client is granted `openid scope_all` (and so every
  // claim) at sign-in.
  async loadExistingGrant(ctx) {
    const { client, session } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) {
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (grant && grant.accountId === session.accountId) return grant;
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid scope_all');
    await grant.save();
    return grant;
  },
  // The access token remembers the sign-in's acr, so that userinfo can give acr and authMode.
  async extraTokenClaims(ctx, token) {
    const acr = ctx?.oidc?.entities?.AuthorizationCode?.acr;
    return token.kind === 'AccessToken' && acr ? { acr } : undefined;
  },
  // `token` is the authorization code at the token endpoint, the access token at userinfo.
  async findAccount(ctx, sub, token) {
    const identifier = identifierOf(sub);
    if (!identifier) return undefined;
    const acr = token?.acr ?? token?.extra?.acr;
    return {
      accountId: sub,
      async claims() {
        return { sub, ...pscClaims(identifier, acr) };
      },
    };
  },
  interactions: { url: async (ctx, interaction) => `/interaction/${interaction.uid}` },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Erreur', `<h1>Erreur</h1>
<p>La demande n’a pas pu aboutir.</p>
${Object.entries(out).map(([k, v]) => `<p><code>${esc(k)}</code> : ${esc(v)}</p>`).join('\n')}`);
  },
});

// --- Back-channel logout ---------------------------------------------------------------------

let lastLogoutToken;

// One logout token (signed like oidc-provider's own: typ logout+jwt, iss, aud, iat, exp, jti,
// sub, sid, events) POSTed to the client's back-channel logout URI; returns the HTTP status.
async function sendLogoutToken(client, sub, sid) {
  const token = new provider.IdToken(sub ? { sub } : {}, { client, ctx: undefined });
  token.mask = { sub: null };
  token.set('events', { 'http://schemas.openid.net/event/backchannel-logout': {} });
  token.set('jti', randomUUID());
  if (sid) token.set('sid', sid);
  const logoutToken = await token.issue({ use: 'logout' });
  lastLogoutToken = logoutToken;
  const response = await fetch(client.backchannelLogoutUri, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: logoutToken }),
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  log(`back-channel logout to ${client.clientId} (sid ${sid ?? '-'}, sub ${sub ?? '-'}): HTTP ${response.status}`);
  return response.status;
}

// The sign-out at the provider (end-session confirmation) uses the same function, so that
// /test/last-logout-token also shows the tokens sent then.
provider.Client.prototype.backchannelLogout = async function backchannelLogout(sub, sid) {
  const status = await sendLogoutToken(this, sub, this.backchannelLogoutSessionRequired ? sid : undefined);
  if (status !== 200 && status !== 204) {
    throw new Error(`expected 200 OK from ${this.backchannelLogoutUri}, got: ${status}`);
  }
};

// Keycloak puts `sid` in every ID token; oidc-provider only for clients that have a back-channel
// logout URI with sessions required.
provider.Client.prototype.includeSid = () => true;

// --- Fault injection -------------------------------------------------------------------------

const NEXT_TOKEN_FAULTS = ['none', 'wrong-nonce', 'expired-id-token', 'wrong-audience', 'wrong-issuer', 'bad-signature'];
const faults = { next_token: 'none', down: false };

// The real ID token, changed as `fault` says and signed again (with the provider's own key, or
// with a throwaway key under the same kid for bad-signature).
async function tamperedIdToken(idToken, fault) {
  const header = jose.decodeProtectedHeader(idToken);
  const payload = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  switch (fault) {
    case 'wrong-nonce': payload.nonce = randomBytes(16).toString('base64url'); break;
    case 'expired-id-token': payload.iat = now - 1200; payload.exp = now - 600; break;
    case 'wrong-audience': payload.aud = 'someone-else'; break;
    case 'wrong-issuer': payload.iss = `${ISSUER_ORIGIN}/auth/realms/not-esante-wallet`; break;
    case 'bad-signature': break;
    default: throw new Error(`unknown fault ${fault}`);
  }
  const key = fault === 'bad-signature' ? throwawayKey : signingKey;
  return new jose.SignJWT(payload).setProtectedHeader(header).sign(key);
}

// --- HTTP plumbing ---------------------------------------------------------------------------

function log(message) {
  console.log(`${new Date().toISOString()} ${message}`);
}

const LIMIT = 64 * 1024;
async function readBody(ctx) {
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > LIMIT) ctx.throw(413, 'request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(ctx) {
  const text = await readBody(ctx);
  try {
    const value = text ? JSON.parse(text) : {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch {
    ctx.throw(400, 'expected a JSON object');
  }
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.body = body;
}

function notFound(ctx, hint) {
  ctx.status = 404;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `Not Found${hint ? `: ${hint}` : ''}\n`;
}

const isLoopback = (address) => /^(127\.|::1$|::ffff:127\.)/.test(address ?? '');

// Paths served on the wallet host; end-session is reached there by a redirect from the issuer
// host, because the provider's session cookie lives on the host where the user signed in.
const isEndSession = (path) => path === routes.end_session || path.startsWith(`${routes.end_session}/`);
const isWalletPath = (path) => path === routes.authorization
  || /^\/auth\/[A-Za-z0-9_-]+$/.test(path) // resume after the sign-in page
  || path.startsWith('/interaction/')
  || isEndSession(path);

// 1. Every request, logged with its outcome (the test logs are read when something fails).
provider.use(async (ctx, next) => {
  const start = Date.now();
  try {
    await next();
  } finally {
    log(`${ctx.method} ${ctx.host}${ctx.originalUrl} -> ${ctx.status} (${Date.now() - start} ms)`);
  }
});

// 1b. oidc-provider's self-submitting form (sent when another professional signs in over a
// session, to sign the previous one out first), in French for browsers without JavaScript.
provider.use(async (ctx, next) => {
  await next();
  if (typeof ctx.body === 'string' && ctx.body.includes('<title>Submitting Callback</title>')) {
    ctx.body = ctx.body
      .replace('<html>', '<html lang="fr">')
      .replace('<title>Submitting Callback</title>', '<meta charset="utf-8">\n  <title>Redirection – Pro Santé Connect (test)</title>')
      .replace("Your browser does not support JavaScript or you've disabled it.", 'JavaScript est désactivé : continuez avec le bouton.')
      .replace('>Continue</button>', '>Continuer</button>');
  }
});

// 2. Which host serves what; the test-control API; the non-standard discovery path.
provider.use(async (ctx, next) => {
  const { path } = ctx;
  const host = ctx.hostname;
  if (host === 'localhost') {
    if (!isWalletPath(path)) return notFound(ctx, `${path} is served on ${ISSUER_ORIGIN}`);
    return next();
  }
  if (host !== '127.0.0.1') return notFound(ctx, `unknown host ${host}: use ${ISSUER_ORIGIN} or ${WALLET_ORIGIN}`);

  if (path.startsWith('/test/')) {
    if (!isLoopback(ctx.req.socket.remoteAddress)) return notFound(ctx);
    return testApi(ctx);
  }
  if (isEndSession(path)) {
    ctx.status = 307; // keeps a POST a POST
    ctx.redirect(`${WALLET_ORIGIN}${ctx.originalUrl}`);
    return undefined;
  }
  if (isWalletPath(path)) return notFound(ctx, `the authorization endpoint is ${WALLET_ORIGIN}${routes.authorization}`);
  if (path === DISCOVERY_PATH) {
    // oidc-provider answers discovery at its fixed path only: route this one there, and rewrite
    // the endpoints from the issuer (not from the request's Host).
    ctx.path = '/.well-known/openid-configuration';
    await next();
    if (ctx.status === 200 && ctx.body) {
      const endpoint = (route) => `${ISSUER_ORIGIN}${route}`;
      Object.assign(ctx.body, {
        authorization_endpoint: `${WALLET_ORIGIN}${routes.authorization}`,
        token_endpoint: endpoint(routes.token),
        userinfo_endpoint: endpoint(routes.userinfo),
        jwks_uri: endpoint(routes.jwks),
        end_session_endpoint: endpoint(routes.end_session),
        introspection_endpoint: endpoint(routes.introspection),
        frontchannel_logout_supported: false,
      });
    }
    return undefined;
  }
  // The standard paths answer 404: the relying party must use the configured discovery URL.
  if (path.startsWith('/.well-known/') || path.startsWith(`${REALM_PATH}/.well-known/`)) return notFound(ctx);
  return next();
});

// 3. Provider down, and tampered ID tokens (see /test/faults).
provider.use(async (ctx, next) => {
  const { path } = ctx;
  if (faults.down && (path === routes.token || path === routes.userinfo)) {
    return json(ctx, 503, { error: 'temporarily_unavailable', error_description: 'service indisponible (panne simulée)' });
  }
  await next();
  if (path === routes.token && ctx.method === 'POST' && ctx.status === 200
      && typeof ctx.body?.id_token === 'string' && faults.next_token !== 'none') {
    const fault = faults.next_token;
    faults.next_token = 'none';
    ctx.body = { ...ctx.body, id_token: await tamperedIdToken(ctx.body.id_token, fault) };
    log(`fault applied to the ID token: ${fault}`);
  }
  return undefined;
});

// 3b. Each secret client authenticates with its own method only. oidc-provider (like Keycloak)
// takes client_secret_basic and client_secret_post for one another, so passerelle-post would
// prove nothing about a relying party's client_secret_post. The body read here is handed to
// oidc-provider as an already parsed body (a path it supports, with a one-time notice).
provider.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || (ctx.path !== routes.token && ctx.path !== routes.introspection)
      || !ctx.is('application/x-www-form-urlencoded')) {
    return next();
  }
  const body = Object.fromEntries(new URLSearchParams(await readBody(ctx)));
  ctx.request.body = body;
  const basic = /^basic\s+(\S+)$/i.exec(ctx.get('authorization'));
  let basicId;
  try {
    basicId = basic && decodeURIComponent(Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0]);
  } catch {
    return next(); // malformed: oidc-provider gives the error
  }
  const client = await provider.Client.find(String(basicId ?? body.client_id ?? '')).catch(() => undefined);
  const used = basic ? 'client_secret_basic' : body.client_secret !== undefined ? 'client_secret_post' : undefined;
  if (client && used && client.clientAuthMethod !== used) {
    log(`client ${client.clientId} (${client.clientAuthMethod}) refused: it authenticated with ${used}`);
    ctx.status = 401;
    if (basic) ctx.set('www-authenticate', 'Basic realm="esante-wallet"');
    ctx.body = { error: 'invalid_client', error_description: `client authentication method ${used} is not the client's (${client.clientAuthMethod})` };
    return undefined;
  }
  return next();
});

// 4. The sign-in page (the "interaction"), on the wallet host.
provider.use(async (ctx, next) => {
  const m = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(ctx.path);
  if (!m) return next();
  const uid = m[1];
  ctx.set('cache-control', 'no-store');
  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
  } catch (err) {
    if (!(err instanceof errors.SessionNotFound)) throw err;
    ctx.status = 400;
    ctx.body = page('Erreur', '<h1>Demande expirée</h1><p>Cette demande de connexion a expiré. Recommencez depuis le service.</p>');
    return undefined;
  }
  const clientId = details.params.client_id;

  // A prompt other than login (consent: loadExistingGrant makes it unlikely) is granted at once:
  // PSC asks nothing more.
  if (details.prompt.name !== 'login') {
    const grant = new provider.Grant({ clientId, accountId: details.session.accountId });
    grant.addOIDCScope('openid scope_all');
    const consent = { grantId: await grant.save() };
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, { consent }, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(redirectTo);
    return undefined;
  }

  if (ctx.method === 'GET') {
    ctx.body = signInPage({ uid, clientId, identifiant: details.params.login_hint });
    return undefined;
  }
  if (ctx.method !== 'POST') ctx.throw(405);

  const form = new URLSearchParams(await readBody(ctx));
  let result;
  if (form.get('action') === 'annuler') {
    result = { error: 'access_denied', error_description: 'connexion annulée par l’utilisateur' };
  } else {
    const identifiant = (form.get('identifiant') ?? '').trim();
    const moyen = form.get('moyen') ?? 'CARD';
    const error = !IDENTIFIER.test(identifiant) ? 'Saisissez votre identifiant national (chiffres et lettres).'
      : !AUTH_MODES[moyen] ? 'Choisissez la carte CPS ou l’e-CPS.'
        : undefined;
    if (error) {
      ctx.status = 400;
      ctx.body = signInPage({ uid, clientId, identifiant, moyen: AUTH_MODES[moyen] ? moyen : 'CARD', error });
      return undefined;
    }
    // remember: false: the session lasts as long as the browser's, like a card left in its reader.
    result = { login: { accountId: subFor(identifiant), acr: AUTH_MODES[moyen], remember: false } };
    log(`sign-in of ${identifiant} with ${moyen}`);
  }
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(redirectTo);
  return undefined;
});

// The test-control API (loopback only, JSON).
async function testApi(ctx) {
  const route = `${ctx.method} ${ctx.path}`;
  switch (route) {
    case 'GET /test/faults':
      return json(ctx, 200, faults);
    case 'POST /test/faults': {
      const body = await readJson(ctx);
      if ('next_token' in body && !NEXT_TOKEN_FAULTS.includes(body.next_token)) {
        return json(ctx, 400, { error: `next_token must be one of ${NEXT_TOKEN_FAULTS.join(', ')}` });
      }
      if ('down' in body && typeof body.down !== 'boolean') return json(ctx, 400, { error: 'down must be true or false' });
      if (!('next_token' in body) && !('down' in body)) return json(ctx, 400, { error: 'expected next_token and/or down' });
      if ('next_token' in body) faults.next_token = body.next_token;
      if ('down' in body) faults.down = body.down;
      log(`faults now ${JSON.stringify(faults)}`);
      return json(ctx, 200, faults);
    }
    case 'POST /test/backchannel-logout': {
      const { sid, sub, client_id: clientId = 'passerelle' } = await readJson(ctx);
      if (typeof sid !== 'string' && typeof sub !== 'string') return json(ctx, 400, { error: 'expected sid and/or sub' });
      if (!backchannelLogoutUri) return json(ctx, 409, { error: 'PSC_BACKCHANNEL_LOGOUT_URI is not set' });
      const client = await provider.Client.find(String(clientId));
      if (!client) return json(ctx, 404, { error: `unknown client ${clientId}` });
      try {
        return json(ctx, 200, { status: await sendLogoutToken(client, sub, sid) });
      } catch (err) {
        log(`back-channel logout to ${clientId} failed: ${err.cause?.message ?? err.message}`);
        return json(ctx, 502, { error: `${backchannelLogoutUri} unreachable: ${err.cause?.message ?? err.message}` });
      }
    }
    case 'GET /test/last-logout-token':
      if (!lastLogoutToken) return json(ctx, 404, { error: 'no logout token sent yet' });
      return json(ctx, 200, { logout_token: lastLogoutToken });
    default:
      return notFound(ctx, 'test API: POST /test/faults, GET /test/faults, POST /test/backchannel-logout, GET /test/last-logout-token');
  }
}

// Errors the relying party only sees as a short code are logged in full here.
for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error',
  'end_session.error', 'end_session_confirm.error', 'introspection.error', 'jwks.error',
  'discovery.error', 'backchannel.error']) {
  provider.on(event, (...args) => {
    const err = args.find((a) => a instanceof Error);
    const detail = err && [...new Set([err.error_description, err.error_detail, err.cause?.message].filter(Boolean))].join(': ');
    log(`${event}: ${err ? `${err.message}${detail ? ` (${detail})` : ''}` : ''}`);
  });
}

const server = createServer(provider.callback());
server.on('error', (err) => fail(`cannot listen on 127.0.0.1:${port}: ${err.message}`));
server.listen(port, '127.0.0.1', () => {
  log(`Pro Santé Connect test provider: issuer ${ISSUER}, discovery ${ISSUER}/.well-known/wallet-openid-configuration, sign-in ${WALLET_ORIGIN}${routes.authorization}`);
  log(`clients: ${clients.map((c) => c.client_id).join(', ')}; redirect URIs: ${redirectUris.join(', ')}; back-channel logout: ${backchannelLogoutUri ?? 'none'}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
