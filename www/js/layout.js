/*
 * layout.js: what every page shares around its own content.
 *
 * Owns: the signed-in person of this page (me()), the header (the site's
 * name, the navigation that person may use, "Sign out"), the superadmin's
 * organization scope (?organization_id= on the administration pages,
 * kept from page to page), where a sign-in may lead (next), and the small
 * DOM and date helpers.  Everything from the API is placed as text
 * (textContent), never as HTML.
 */
import { call, page } from './api.js';

/*
 * A new element: attrs sets attributes (a false or null value leaves one
 * out; "text" sets the text), children are nodes or strings (as text).
 */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c !== null && c !== undefined && c !== false && c !== '') {
      e.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
  }
  return e;
}

export function $(selector) {
  return document.querySelector(selector);
}

/* This page's query parameter name ("" if absent). */
export function param(name) {
  return new URLSearchParams(location.search).get(name) || '';
}

const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium',
  timeStyle: 'short' });

/* An API timestamp as a person reads it ("" for null). */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : DATE.format(d);
}

/* A <time> element for an API timestamp, or a dash for null. */
export function timeEl(iso, none = '—') {
  return iso ? el('time', { datetime: iso, text: when(iso) })
    : document.createTextNode(none);
}

/* The page is built: main is no longer busy (aria-busy). */
export function ready() {
  $('main').removeAttribute('aria-busy');
}

export function go(url) {
  location.assign(url);
}

/*
 * Where a sign-in may send the person: next, only if it is a URL of this
 * site (no open redirect: another origin, "//host", "/\host" or
 * "javascript:" are refused), as an absolute URL; otherwise null.
 */
export function safeNext(raw) {
  if (!raw) return null;
  let u;
  try {
    u = new URL(raw, location.href);
  } catch {
    return null;
  }
  if (u.origin !== location.origin) return null;
  return u.href;
}

/* A summary list (<dl>) of [term, description] pairs into dl. */
export function facts(dl, pairs) {
  dl.replaceChildren();
  for (const [term, desc] of pairs) {
    dl.append(el('dt', null, term), el('dd', null, desc));
  }
}

/*
 * Fill table's body with one row per item: cells(item) gives the cells
 * (nodes or strings), each labelled with its column's heading for the
 * narrow layout, where rows become cards.
 */
export function rows(table, items, cells) {
  const heads = [...table.tHead.rows[0].cells].map((c) => c.textContent);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const item of items) {
    const tr = el('tr');
    cells(item).forEach((c, i) => {
      tr.append(el('td', { 'data-label': heads[i] || false }, c));
    });
    body.append(tr);
  }
  table.hidden = items.length === 0;
}

/*
 * The paging links of a list into nav: "Previous" and "Next" pages of
 * the same page URL with page=N, and where this page is.
 */
export function pager(nav, pageNo, perPage, total) {
  nav.replaceChildren();
  const last = Math.max(1, Math.ceil(total / perPage));
  const link = (n, text, rel) => {
    const u = new URL(location.href);
    u.searchParams.set('page', String(n));
    return el('a', { href: u.href, rel }, text);
  };
  if (pageNo > 1) nav.append(link(pageNo - 1, 'Previous page', 'prev'));
  nav.append(el('span', null, `Page ${Math.min(pageNo, last)} of ${last}`));
  if (pageNo < last) nav.append(link(pageNo + 1, 'Next page', 'next'));
  nav.hidden = total <= perPage && pageNo === 1;
}

/* The current page number of a list (1 unless ?page= says more). */
export function pageNumber() {
  const n = Number(param('page'));
  return Number.isInteger(n) && n >= 1 && n <= 1000000 ? n : 1;
}

/* A labelled read-only copy of value with a button to copy it. */
export function copyBox(id, label, value) {
  const input = el('input', { id, type: 'text', readonly: true,
    value, spellcheck: 'false' });
  const button = el('button', { type: 'button', class: 'secondary' },
    'Copy');
  button.addEventListener('click', async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Press Ctrl+C to copy';
    }
  });
  return el('div', { class: 'field' }, el('label', { for: id }, label),
    el('div', { class: 'copy' }, input, button));
}

/* ----------------------------------------------------------- scope */

/* The organization the administration pages act on ("" = one's own). */
export function scope() {
  const v = param('organization_id');
  return /^[1-9][0-9]{0,17}$/.test(v) ? v : '';
}

/* A page URL that keeps the organization scope. */
export function scoped(name, params) {
  return page(name, { ...params, organization_id: scope() });
}

/* The query of an administration call: the scope and more. */
export function scopedQuery(more) {
  return { ...more, organization_id: scope() };
}

/* --------------------------------------------------------- header */

const NAV = [
  ['account.html', 'Account', 'user'],
  ['users.html', 'Users', 'admin'],
  ['invitations.html', 'Invitations', 'admin'],
  ['organization.html', 'Organization', 'admin'],
  ['audit.html', 'Audit log', 'admin'],
  ['api-keys.html', 'API keys', 'admin'],
  ['organizations.html', 'Organizations', 'superadmin'],
];
const RANK = { user: 0, admin: 1, superadmin: 2 };

let current = null;

/* The signed-in person of this page (after signedIn()), or null. */
export function me() {
  return current;
}

function here(name) {
  return location.pathname.endsWith('/' + name);
}

async function signOut(all) {
  const r = await call('POST', 'auth/logout', { body: all ? { all: true }
    : {} });
  /* Signed out one way or another: the cookies are gone or useless. */
  location.assign(page('signin.html', { signed_out: r.ok ? '1' : '' }));
}

/* Build the header: the site's name and, when signed in, the menu. */
export function header(user) {
  const top = $('header.top');
  if (!top) return;
  top.replaceChildren();
  const brand = el('a', { class: 'brand', href: page('index.html') },
    'latch');
  top.append(brand);
  if (!user) return;
  const list = el('ul');
  for (const [name, label, role] of NAV) {
    if (RANK[user.role] < RANK[role]) continue;
    const keep = role === 'user' ? page(name) : scoped(name);
    list.append(el('li', null, el('a', { href: keep,
      'aria-current': here(name) ? 'page' : false }, label)));
  }
  const out = el('button', { type: 'button', class: 'link' }, 'Sign out');
  out.addEventListener('click', () => signOut(false));
  list.append(el('li', null, out));
  top.append(el('nav', { 'aria-label': 'Main' }, list),
    el('p', { class: 'who' }, 'Signed in as ',
      el('strong', null, user.username), ` (${user.role}, `,
      user.organizationName, ')'));
}

export { signOut };

/*
 * The person signed in on this page, or a trip to the sign-in page.
 * With role "admin" or "superadmin", a person without it is told so and
 * the promise never resolves (the page stops there).
 */
export async function signedIn(role = 'user') {
  const r = await call('GET', 'user/profile');
  if (!r.ok) {
    header(null);
    showFailure(r);
    ready();
    return new Promise(() => {});
  }
  current = r.data.user;
  header(current);
  if (RANK[current.role] < RANK[role]) {
    const main = $('main');
    main.replaceChildren(el('h1', null, 'Not allowed'),
      el('p', null, `This page is for ${role === 'admin' ? 'administrators'
        : 'superadmins'}. `, el('a', { href: page('account.html') },
        'Go to your account'), '.'));
    ready();
    return new Promise(() => {});
  }
  if (scope() !== '' && current.role === 'superadmin') await scopeBanner();
  return current;
}

/* A failure that stops the page: a note at the top of main. */
export function showFailure(r) {
  const main = $('main');
  const h1 = main.querySelector('h1');
  const text = r.status === 0 ? 'latch cannot be reached. Check the ' +
    'connection and reload the page.' : r.status === 503
    ? 'latch cannot reach its database right now. Reload the page in a ' +
      'moment.' : 'Something went wrong loading this page. Reload it; if ' +
      'it keeps failing, tell your administrator.';
  const note = el('div', { class: 'notice notice-error', role: 'alert' },
    text);
  if (h1) h1.after(note);
  else main.prepend(note);
}

/*
 * For a superadmin acting on another organization: say which, and how to
 * go back to their own.  Also the switch between organizations.
 */
async function scopeBanner() {
  const r = await call('GET', 'organization', { query: scopedQuery() });
  const h1 = $('main h1');
  const back = el('a', { href: page(location.pathname.split('/').pop()) },
    'back to your own');
  const box = el('div', { class: 'notice scope', role: 'note' });
  if (r.ok) {
    box.append('You are managing ', el('strong', null,
      r.data.organization.name), ' (', back, ').');
  } else {
    box.append('This organization does not exist (any more): ', back, '.');
  }
  h1.after(box);
}
