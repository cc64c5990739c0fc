/*
 * register.js: registration (register.html, register.html?code=...).
 * Owns the two ways in: with an invitation (its link, or a code typed
 * in), previewed first (organization, address, role, expiry) and asking
 * only for a username, a name and a password; or a new organization,
 * when latch allows it.  Either way the new person is signed in.
 */
import { call, page } from './api.js';
import { onSubmit, show } from './form.js';
import { $, el, facts, param, ready, timeEl } from './layout.js';

const INVITE_TEXTS = {
  invalid_invitation: 'This invitation code does not work: it may be ' +
    'mistyped, revoked, or replaced by a newer invitation mail. Check the ' +
    'latest mail, or ask the person who invited you to send it again.',
  invitation_used: 'This invitation was already used. If you registered ' +
    'with it, sign in instead.',
  invitation_expired: 'This invitation has expired. Ask the person who ' +
    'invited you to send it again.',
};

function welcome() {
  location.assign(page('account.html', { welcome: '1' }));
  return null;
}

function choose(open, failed) {
  $('#choose').hidden = false;
  $('#new-org').hidden = !open;
  $('#closed').hidden = open;
  onSubmit($('#code'), async (v) => {
    if (!v.invitation_code) {
      return { ok: false, error: 'invalid_field', field: 'invitation_code' };
    }
    location.assign(page('register.html', { code: v.invitation_code }));
    return null;
  });
  if (failed) {
    $('#invitation_code').value = param('code');
    show($('#code'), [{ field: 'invitation_code',
      text: INVITE_TEXTS[failed.error] || 'This invitation cannot be ' +
        'checked right now. Try again in a moment.' }]);
  } else if (open && location.hash === '#new-org') {
    $('#organization').focus();
  }
  onSubmit($('#org'), async (v) => {
    const r = await call('POST', 'auth/register', {
      body: { ...v, cookie: true }, session: false });
    return r.ok ? welcome() : r;
  }, { registration_closed: 'Registering new organizations is closed ' +
    'here: ask an administrator for an invitation.' });
}

async function preview(code, open) {
  const r = await call('GET', 'auth/invitation', { query: { code },
    session: false });
  if (!r.ok) {
    choose(open, r);
    return;
  }
  const inv = r.data.invitation;
  const box = el('div', { class: 'notice' },
    el('p', null, 'You are invited to join ', el('strong', null,
      inv.organizationName), ` as ${inv.role === 'user' ? 'a user'
      : `an ${inv.role}`}.`));
  const dl = el('dl', { class: 'summary' });
  facts(dl, [['Email address', inv.email],
    ['Expires', timeEl(inv.expiresAt)]]);
  box.append(dl);
  $('#invite-box').replaceChildren(box);
  $('#join-code').value = code;
  $('#invite').hidden = false;
  onSubmit($('#join'), async (v) => {
    const reg = await call('POST', 'auth/register', {
      body: { ...v, cookie: true }, session: false });
    return reg.ok ? welcome() : reg;
  }, {
    ...INVITE_TEXTS,
    email_taken: 'An account with this invitation\'s address was created ' +
      'meanwhile: sign in with it, or ask for an invitation to another ' +
      'address.',
  });
}

const setup = await call('GET', 'setup', { session: false });
const open = setup.ok && setup.data.registration_open === true;
if (setup.ok && setup.data.setup_required) {
  location.replace(page('setup.html'));
} else if (param('code')) {
  $('#choose').hidden = true;
  await preview(param('code'), open);
} else {
  choose(open, null);
}
ready();
