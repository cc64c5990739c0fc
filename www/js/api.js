/*
 * api.js: the pages' one way to latch's API.
 *
 * Owns: where the API is (the mount rule: the pages at <prefix>/, the API
 * at <prefix>/api/, found relative to this module, so no page needs to
 * know its prefix), the X-Latch-CSRF header, and the silent refresh: a
 * signed-in call answered 401 for its access token (expired, or its
 * cookie gone) refreshes the session from the refresh cookie once and is
 * retried.  Refreshes are serialized across the tabs of the site (Web
 * Locks); the latch_csrf cookie is the session's own and no refresh
 * changes it, so a tab never sends one another tab just replaced.  When
 * the session cannot be refreshed, the person is sent to sign in, with
 * next = this page.  A session that may only enrol a second factor (an
 * organization's require_mfa) is sent to mfa.html, with next = this
 * page, as soon as a call answers 403 mfa_enrollment_required.
 *
 * Tokens travel only as HttpOnly cookies: the answers that carry them
 * are read for their other members and dropped; nothing is ever written
 * to localStorage or sessionStorage.
 */

export const API = new URL('../api/', import.meta.url);
const PAGES = new URL('../', import.meta.url);

/* The 401 codes that mean "this session's access token will not do". */
const TOKEN_ERRORS = new Set(['missing_token', 'invalid_token',
  'token_expired', 'session_revoked']);

/* The URL of page name (e.g. "signin.html") with query params set. */
export function page(name, params) {
  const u = new URL(name, PAGES);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
  }
  return u.href;
}

/* The latch_csrf cookie ("" if none): also the mark of a session. */
export function csrf() {
  for (const c of document.cookie.split(';')) {
    const i = c.indexOf('=');
    if (i > 0 && c.slice(0, i).trim() === 'latch_csrf') {
      return c.slice(i + 1).trim();
    }
  }
  return '';
}

/*
 * One request.  Resolves to {ok, status, data, error, field, retryAfter}
 * (error "network" with status 0 when latch could not be reached,
 * "bad_answer" when the answer was not latch's JSON); never rejects.
 */
async function send(method, path, body, query) {
  const url = new URL(path, API);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: 'application/json' };
  const token = csrf();
  if (token) headers['X-Latch-CSRF'] = token;
  const init = { method, headers, credentials: 'same-origin',
    cache: 'no-store' };
  if (body === undefined && method === 'POST') body = {};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch {
    return { ok: false, status: 0, error: 'network', data: null };
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (data === null || typeof data !== 'object') {
    return { ok: false, status: res.status, error: 'bad_answer', data: null };
  }
  return {
    ok: res.ok && data.success === true,
    status: res.status,
    data,
    error: typeof data.error === 'string' ? data.error : null,
    field: typeof data.field === 'string' ? data.field : null,
    retryAfter: Number(res.headers.get('Retry-After')) || 0,
  };
}

let refreshing = null;

/*
 * Refresh the session from the refresh cookie, once for all the callers
 * of this tab that are waiting; resolves true if the session is good
 * again, false if it is gone.  Tabs take turns (Web Locks): each sends
 * the refresh cookie the previous one left.  Without Web Locks two tabs
 * may send the same one at once: within refresh_reuse_interval latch
 * answers the second with the same successor, so both keep the session.
 */
export function refresh() {
  if (refreshing === null) {
    /* One lock per install: another latch on this host (another
     * prefix) refreshes its own session at its own pace. */
    const p = navigator.locks
      ? navigator.locks.request('latch-refresh ' + API.pathname, renew)
      : renew();
    refreshing = p.finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function renew() {
  if (csrf() === '') return false;   /* signed out, in this tab or another */
  const r = await send('POST', 'auth/refresh', {});
  return r.ok;
}

/* Go to the sign-in page, to come back here afterwards. */
export function signIn() {
  location.assign(page('signin.html',
    { next: location.pathname + location.search }));
}

/*
 * Call the API: method, path relative to the API ("auth/login"), and
 * options body (an object, sent as JSON), query (an object; empty values
 * left out) and session:
 *   "required"  a signed-in call: refresh and retry on a 401 for the
 *               token; if that fails, go to sign in (the promise then
 *               never resolves: the page is leaving)
 *   "optional"  the same, but answer the 401 instead of leaving (and
 *               without a session cookie, answer it without asking)
 *   false       a public call: no refresh
 */
export async function call(method, path, options = {}) {
  const { body, query } = options;
  const session = options.session === undefined ? 'required'
    : options.session;
  if (session === 'optional' && csrf() === '') {
    return { ok: false, status: 401, error: 'missing_token', data: null };
  }
  let r = await send(method, path, body, query);
  if (session && r.status === 401 && TOKEN_ERRORS.has(r.error)) {
    if (await refresh()) r = await send(method, path, body, query);
    if (session === 'required' && r.status === 401 &&
        TOKEN_ERRORS.has(r.error)) {
      signIn();
      return new Promise(() => {});
    }
  }
  if (session && r.error === 'mfa_enrollment_required') {
    /* The organization requires a second factor this session has not
     * enrolled: the one page it may use, then back here. */
    enrol();
    return new Promise(() => {});
  }
  return r;
}

/* Go to the enrolment of a second factor, to come back here after. */
export function enrol() {
  location.assign(page('mfa.html',
    { next: location.pathname + location.search }));
}
