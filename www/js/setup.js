/*
 * setup.js: the first run (setup.html).  Owns the two ways out of it:
 * create the first organization and superadmin (who is then signed in),
 * or skip, which leaves the guarded paths open until a first user exists.
 * Once any user exists the page sends the person to sign in.
 */
import { call, page } from './api.js';
import { notice, onSubmit } from './form.js';
import { $, el, ready } from './layout.js';

function skipped() {
  $('#skip').closest('section').hidden = true;
  notice($('#state'), el('p', null, el('strong', null,
    'Authentication is off.'), ' Every path latch guards lets everyone in ' +
    'until the first user exists. Create the administrator below whenever ' +
    'you are ready: that turns it on.'));
}

const setup = await call('GET', 'setup', { session: false });
if (setup.ok && !setup.data.setup_required) {
  location.replace(page('signin.html'));
} else {
  if (setup.ok && setup.data.auth_enabled === false) skipped();
  onSubmit($('#create'), async (v) => {
    const r = await call('POST', 'setup', { body: { ...v, cookie: true },
      session: false });
    if (!r.ok) return r;
    location.assign(page('account.html', { welcome: '1' }));
    return null;
  }, {
    setup_done: 'Setup is already done: someone created the first user. ' +
      'Sign in instead.',
    organization_taken: { field: 'organization', text: 'An organization ' +
      'of that name is left from earlier: choose another name' },
  });
  onSubmit($('#skip'), async (v) => {
    if (!v.skip) return { ok: false, error: 'unconfirmed' };
    const r = await call('POST', 'setup', { body: { skip: true },
      session: false });
    if (r.ok) skipped();
    return r;
  }, {
    unconfirmed: { field: 'skip', text: 'Tick the box to confirm that ' +
      'latch may run without authentication' },
    setup_done: 'Setup is already done: someone created the first user.',
  });
  ready();
}
