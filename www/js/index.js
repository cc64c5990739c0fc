/*
 * index.js: the front door.  Owns nothing but the decision where a
 * person belongs: the setup page while latch has no user, the account
 * page when signed in, the sign-in page otherwise.
 */
import { call, page } from './api.js';
import { ready } from './layout.js';

const setup = await call('GET', 'setup', { session: false });
if (!setup.ok) {
  document.getElementById('where').textContent = setup.status === 0
    ? 'latch cannot be reached. Check the connection and reload the page.'
    : 'latch is not answering as it should. Reload the page in a moment.';
  ready();
} else if (setup.data.setup_required) {
  location.replace(page('setup.html'));
} else {
  const me = await call('GET', 'user/profile', { session: 'optional' });
  location.replace(page(me.ok ? 'account.html' : 'signin.html'));
}
