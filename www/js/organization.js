/*
 * organization.js: "Organization" (organization.html?organization_id=).
 * Owns an organization's name and description, who in it must sign in
 * with a second factor (require_mfa), and for a superadmin its deletion
 * (with everyone in it).
 */
import { call, page } from './api.js';
import { notice, onSubmit, report } from './form.js';
import { $, facts, go, ready, scopedQuery, signedIn, timeEl }
  from './layout.js';

const me = await signedIn('admin');
let org = null;

const MFA = { none: 'Nobody is required', admins: 'Required of admins',
  all: 'Required of everyone' };

function render() {
  facts($('#facts'), [['Name', org.name], ['Users', String(org.userCount)],
    ['Two-factor sign-in', MFA[org.requireMfa] || org.requireMfa],
    ['Created', timeEl(org.createdAt)]]);
  $('#name').value = org.name;
  $('#description').value = org.description;
  for (const b of document.querySelectorAll('input[name="require_mfa"]')) {
    b.checked = b.value === org.requireMfa;
  }
}

const r = await call('GET', 'organization', { query: scopedQuery() });
if (!r.ok) {
  report($('#state'), r, { not_found: 'There is no such organization ' +
    '(any more).' });
} else {
  org = r.data.organization;
  render();
  $('#org-form').hidden = false;
  $('#danger').hidden = me.role !== 'superadmin';
  onSubmit($('#org-form'), async (v) => {
    const p = await call('PATCH', 'organization', { body: v,
      query: scopedQuery() });
    if (!p.ok) return p;
    org = p.data.organization;
    render();
    notice($('#org-form'), 'Saved.');
    return null;
  }, { organization_taken: { field: 'name', text: 'Another organization ' +
    'has this name (names are compared ignoring case and accents)' },
  invalid_field: (e) => e.field === 'name' ? { field: 'name', text:
    'Enter a name of 1 to 128 characters, without line breaks' } : null });
  onSubmit($('#delete-form'), async (v) => {
    if (!v.confirm) return { ok: false, error: 'unconfirmed' };
    const d = await call('DELETE', `organizations/${org.id}`);
    if (!d.ok) return d;
    /* Deleting one's own organization ends one's own session too. */
    go(org.id === me.organizationId ? page('signin.html')
      : page('organizations.html', { deleted: org.name }));
    return null;
  }, { unconfirmed: { field: 'confirm', text: 'Tick the box to confirm' },
    last_admin: 'This organization holds every active superadmin of ' +
      'latch: make a superadmin in another organization first.' });
}
ready();
