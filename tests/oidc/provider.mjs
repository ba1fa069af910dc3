// A real OpenID Connect provider for the tests: panva's oidc-provider (certified), started by
// tests/oidc/__init__.py with a JSON configuration in the OIDC_TEST_CONFIG environment variable:
//
//   {"port": 0, "host": "localhost", "conform": true,
//    "clients": [{"client_id": ..., "client_secret": ..., "token_endpoint_auth_method": ...,
//                 "jwks": {...}, "tamper": "audience" | "expired" | "signature" | "wrong-key" | "alg-none"}],
//    "accounts": {"<sub>": {"email": ..., "email_verified": ..., "amr": [...], "acr": ..., "tid": ..., "hd": ...,
//                         "idp": ..., "xms_edov": ..., "preferred_username": ..., "upn": ...}}}
//
// It listens on 127.0.0.1 and prints "READY <issuer>" once it does. The issuer's host is
// "localhost" by default, so that to a browser the provider is another site than the app at
// 127.0.0.1, as a real provider is.
//
// What is configured here rather than built in to oidc-provider, and why:
// - sign-in: GET /interaction/<uid> signs in the account named in login_hint at once (the
//   protocol tests), or shows a one-field form (the browser tests); consent is given at once
//   (a first-party client). The account's amr and acr are what the login result says.
// - redirect URIs match without their port on 127.0.0.1 and localhost (the apps under test
//   listen on random ports); the paths must match exactly.
// - a client with "tamper" has its ID token spoilt on the way out of the token endpoint, as a
//   broken or hostile provider would send it: another audience, expired, a bad signature, signed
//   with a key the provider does not publish, or `alg: none`.
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import http from "node:http";

import Provider from "oidc-provider";

const config = JSON.parse(process.env.OIDC_TEST_CONFIG || "{}");
const accounts = config.accounts || {};
const host = config.host || "localhost";

function rsaJwk(kid) {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" };
}

const signingKey = rsaJwk("test-signing-key");
const otherKey = rsaJwk("test-signing-key"); // same kid, a key nobody publishes

const b64 = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const unb64 = (value) => JSON.parse(Buffer.from(value, "base64url").toString());

function signRs256(header, payload, jwk) {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = sign("RSA-SHA256", Buffer.from(input), createPrivateKey({ key: jwk, format: "jwk" }));
  return `${input}.${signature.toString("base64url")}`;
}

function tamper(idToken, how) {
  const [headerPart, payloadPart, signaturePart] = idToken.split(".");
  const header = unb64(headerPart);
  const payload = unb64(payloadPart);
  const now = Math.floor(Date.now() / 1000);
  switch (how) {
    case "audience":
      return signRs256(header, { ...payload, aud: "someone-else" }, signingKey);
    case "expired":
      return signRs256(header, { ...payload, iat: now - 7200, exp: now - 3600 }, signingKey);
    case "signature":
      return `${headerPart}.${b64({ ...payload, sub: "someone-else" })}.${signaturePart}`;
    case "wrong-key":
      return signRs256(header, payload, otherKey);
    case "alg-none":
      return `${b64({ alg: "none", typ: "JWT" })}.${payloadPart}.`;
    default:
      return idToken;
  }
}

const page = (title, body) =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
const escape = (text) =>
  String(text).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

const server = http.createServer();
await new Promise((resolve) => server.listen(config.port || 0, "127.0.0.1", resolve));
const issuer = `http://${host}:${server.address().port}`;

const clients = (config.clients || []).map(({ tamper: _tamper, ...client }) => ({
  grant_types: ["authorization_code"],
  response_types: ["code"],
  ...client,
}));
const tampering = Object.fromEntries((config.clients || []).filter((c) => c.tamper).map((c) => [c.client_id, c.tamper]));

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  conformIdTokenClaims: config.conform !== false,
  // tid and hd (Entra's tenant, Google's domain), idp (Entra: a guest's home directory) and how
  // the person signed in go in every ID token; Entra's xms_edov travels with the email, and its
  // preferred_username and upn with the profile.
  claims: {
    sid: null,
    iss: null,
    openid: ["sub", "tid", "hd", "idp", "acr", "amr", "auth_time"],
    email: ["email", "email_verified", "xms_edov"],
    profile: ["name", "preferred_username", "upn"],
  },
  cookies: { keys: [randomUUID()] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource(ctx, form) {
        ctx.body = page(
          "Sign out of the test provider",
          `${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`,
        );
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    const { amr: _amr, acr: _acr, ...claims } = account;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  renderError(ctx, out) {
    ctx.type = "html";
    ctx.body = page("Test provider error", `<p id="error">${escape(out.error)}: ${escape(out.error_description || "")}</p>`);
  },
});
provider.proxy = false;

// Redirect URIs match without their port on loopback hosts (the apps under test use random ports).
const withoutPort = (value) => {
  try {
    const url = new URL(value);
    if (!["127.0.0.1", "localhost"].includes(url.hostname)) return value;
    url.port = "";
    return url.href;
  } catch {
    return value;
  }
};
for (const method of ["redirectUriAllowed", "postLogoutRedirectUriAllowed"]) {
  const original = provider.Client.prototype[method];
  const list = method === "redirectUriAllowed" ? "redirectUris" : "postLogoutRedirectUris";
  provider.Client.prototype[method] = function allowed(value) {
    return original.call(this, value) || (this[list] || []).some((uri) => withoutPort(uri) === withoutPort(value));
  };
}

function loginResult(accountId) {
  const account = accounts[accountId];
  const login = { accountId };
  if (account.amr) login.amr = account.amr;
  if (account.acr) login.acr = account.acr;
  return { login };
}

async function finish(ctx, result) {
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  if (!match) {
    await next();
    const how = ctx.oidc?.client && tampering[ctx.oidc.client.clientId];
    if (how && ctx.path === "/token" && ctx.body?.id_token) {
      ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token, how) };
    }
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params, session } = details;
  ctx.set("Cache-Control", "no-store");
  if (prompt.name === "consent") {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(" "));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    return finish(ctx, { consent: { grantId: await grant.save() } });
  }
  if (ctx.method === "POST" && match[2]) {
    const login = (await readForm(ctx.req)).get("login") || "";
    if (accounts[login]) return finish(ctx, loginResult(login));
  } else if (params.login_hint && accounts[params.login_hint]) {
    return finish(ctx, loginResult(params.login_hint));
  }
  ctx.type = "html";
  ctx.body = page(
    "Sign in to the test provider",
    `<form method="post" action="/interaction/${details.uid}/login">` +
      `<label for="login">Username</label> <input id="login" name="login" autocomplete="username">` +
      `<button type="submit">Sign in</button></form>`,
  );
});

server.on("request", provider.callback());
process.stdout.write(`READY ${issuer}\n`);
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
