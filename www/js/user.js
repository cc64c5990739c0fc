/*
 * user.js: one user of an organization (user.html?id=N&organization_id=).
 * Owns what an admin may change about them: name and email, role,
 * disabling and enabling, resetting their two-factor sign-in, and
 * deleting, with the last-admin rule explained when latch refuses.
 */
import { call } from './api.js';
import { notice, onSubmit } from './form.js';
import { $, el, facts, go, param, ready, scoped, scopedQuery, signedIn,
  timeEl } from './layout.js';

const me = await signedIn('admin');
const id = /^[1-9][0-9]{0,17}$/.test(param('id')) ? param('id') : '';
let user = null;

$('#back').href = scoped('users.html');
if (me.role === 'superadmin') {
  $('#role').append(el('option', { value: 'superadmin' }, 'Superadmin'));
}

/* Why latch refused with last_admin, for this user and this change. */
function lastAdmin(change) {
  return `${user.username} is the last active ${user.role === 'superadmin'
    ? 'admin of the organization or the last superadmin of latch'
    : 'admin of ' + user.organizationName}, and ${change} would leave ` +
    'nobody to manage it. Make someone else an admin first, then try ' +
    'again.';
}

const FORBIDDEN = 'Only a superadmin can change a superadmin.';

function render() {
  $('h1').textContent = `User ${user.username}`;
  document.title = `${user.username} · latch`;
  facts($('#facts'), [['Username', user.username], ['Name', user.name ||
    '—'], ['Email address', user.email], ['Role', user.role],
  ['Status', user.disabled ? 'Disabled: cannot sign in' : 'Active'],
  ['Organization', user.organizationName],
  ['Created', timeEl(user.createdAt)],
  ['Last sign-in', timeEl(user.lastLoginAt, 'Never')]]);
  const locked = user.role === 'superadmin' && me.role !== 'superadmin';
  for (const s of document.querySelectorAll('section.edit')) {
    s.hidden = locked;
  }
  if (locked) {
    notice($('#facts'), FORBIDDEN);
    return;
  }
  /* One's own address changes on the account page, with the password
   * and a confirmation by mail, never here. */
  const self = user.id === me.id;
  $('#details').hidden = self;
  $('#self').hidden = !self;
  /* One's own second factor is managed on mfa.html, with a code. */
  $('#mfa-form').parentElement.hidden = self;
  $('#name').value = user.name;
  $('#email').value = user.email;
  $('#role').value = user.role;
  $('#access-text').textContent = user.disabled
    ? `${user.username} is disabled and cannot sign in.`
    : `${user.username} can sign in. Disabling also signs them out ` +
      'everywhere.';
  $('#access-form button').textContent = user.disabled ? 'Enable' : 'Disable';
}

async function load() {
  const r = id ? await call('GET', `users/${id}`, { query: scopedQuery() })
    : { ok: false, status: 404 };
  if (!r.ok) {
    $('#facts').replaceChildren();
    $('#state').append(el('p', { class: 'notice notice-error',
      role: 'alert' }, r.status === 404 ? 'There is no such user in this ' +
      'organization (any more).' : 'This user cannot be loaded right now.'));
    return false;
  }
  user = r.data.user;
  render();
  return true;
}

function patch(body) {
  return call('PATCH', `users/${id}`, { body, query: scopedQuery() });
}

if (await load()) {
  onSubmit($('#details'), async (v) => {
    const r = await patch({ name: v.name, email: v.email });
    if (!r.ok) return r;
    user = r.data.user;
    render();
    notice($('#details'), 'The details are saved.');
    return null;
  }, { forbidden: FORBIDDEN });
  onSubmit($('#role-form'), async (v) => {
    const r = await patch({ role: v.role });
    if (!r.ok) return r;
    user = r.data.user;
    render();
    notice($('#role-form'), `${user.username} is now ${user.role === 'user'
      ? 'a user' : 'an ' + user.role}.`);
    return null;
  }, { last_admin: () => ({ field: 'role', text: lastAdmin('the new role') }),
    forbidden: FORBIDDEN });
  onSubmit($('#access-form'), async () => {
    const r = await call('POST', `users/${id}/${user.disabled ? 'enable'
      : 'disable'}`, { query: scopedQuery() });
    if (!r.ok) return r;
    user = r.data.user;
    render();
    notice($('#access-form'), user.disabled ? `${user.username} is ` +
      'disabled and signed out everywhere.' : `${user.username} is ` +
      'enabled and can sign in again.');
    return null;
  }, { last_admin: () => lastAdmin('disabling them'), forbidden: FORBIDDEN });
  onSubmit($('#mfa-form'), async () => {
    const r = await call('POST', `users/${id}/mfa/reset`,
      { query: scopedQuery() });
    if (!r.ok) return r;
    notice($('#mfa-form'), `${user.username}'s two-factor sign-in is ` +
      'reset, and they are signed out everywhere.');
    return null;
  }, { forbidden: FORBIDDEN, mfa_not_enrolled: () =>
    `${user.username} has no two-factor sign-in to reset.` });
  onSubmit($('#delete-form'), async (v) => {
    if (!v.confirm) {
      return { ok: false, error: 'unconfirmed' };
    }
    const r = await call('DELETE', `users/${id}`, { query: scopedQuery() });
    if (!r.ok) return r;
    go(scoped('users.html', { deleted: user.username }));
    return null;
  }, { last_admin: () => lastAdmin('deleting them'), forbidden: FORBIDDEN,
    unconfirmed: { field: 'confirm', text: 'Tick the box to confirm' } });
}
ready();
