/*
 * audit.js: "Audit log" (audit.html?event=&page=&organization_id=).
 * Owns the list of audit events, newest first, filtered by event and
 * paged through the address.  A superadmin without organization_id sees
 * every organization's events.
 */
import { call } from './api.js';
import { report } from './form.js';
import { $, el, pageNumber, pager, param, ready, rows, scope,
  scopedQuery, signedIn, timeEl } from './layout.js';

const PER_PAGE = 50;
await signedIn('admin');
const event = param('event');
const pageNo = pageNumber();
const select = $('#event');
const LABEL = Object.fromEntries([...select.options].map((o) =>
  [o.value, o.textContent]));

if (event in LABEL) select.value = event;
if (scope()) $('#filter-scope').value = scope();
else $('#filter-scope').disabled = true;

const r = await call('GET', 'audit', { query: scopedQuery({
  event: select.value, page: pageNo, per_page: PER_PAGE }) });
if (!r.ok) {
  report($('#count'), r);
} else {
  const { events, total } = r.data;
  $('#count').textContent = total === 0 ? 'No event matches.'
    : `${total} ${total === 1 ? 'event' : 'events'}.`;
  const id = (v) => (v === null ? '—' : `#${v}`);
  /* Who acted: a person, or an API key (then no person). */
  const by = (e) => (e.actorId === null && e.apiKeyId !== null &&
    e.event !== 'api_key.create' ? `API key #${e.apiKeyId}` : id(e.actorId));
  rows($('#events'), events, (e) => [timeEl(e.at),
    el('span', { title: e.event }, LABEL[e.event] || e.event),
    by(e), id(e.targetId), e.ip, e.detail]);
  pager($('#pager'), pageNo, PER_PAGE, total);
}
ready();
