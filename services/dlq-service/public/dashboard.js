// The DLQ dashboard: polls the API every POLL_MS (no reload), renders with
// textContent only (record fields come from Kafka and are never HTML), and
// replays through POST /dlq/{id}/replay, or every dead letter the filters
// match through POST /dlq/replay (counted by a dry run first), with the token
// the user types. The token is kept in sessionStorage, so it is asked once
// per tab. When the service has a read token (DLQ_READ_TOKEN), its read
// routes answer 401 until the page sends it: the page asks for it once, keeps
// it the same way and sends it with every read. The filters live in the URL
// (failureClass, replayed, q): a link opens the same view, and an alert of
// the banner links to its failure class.
import { renderAlerts } from './alert-banner.js';
import { renderCharts } from './charts.js';

const POLL_MS = 2000;
const PAGE = 50;
const TOKEN_KEY = 'dlq-api-token';
const READ_TOKEN_KEY = 'dlq-read-token';

/** lib/dlq.ts LOSSY_CUTS: after these cuts the record is not the original, and the service refuses to replay it. */
const LOSSY_CUTS = ['headers', 'value', 'key'];

const $ = (id) => document.getElementById(id);
const money = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD' });
const count = new Intl.NumberFormat();
let selected;
/** The bulk replay the dialog is open for: its filter, and the token its dry run counted with (once it has). */
let bulk;
/** Only the latest refresh renders: an older one that answers late must not overwrite it. */
let generation = 0;

/** A read route refused the page's read token (or its lack of one). */
class ReadTokenNeeded extends Error {}

async function getJson(path) {
  const headers = { accept: 'application/json' };
  const readToken = sessionStorage.getItem(READ_TOKEN_KEY);
  if (readToken) headers.authorization = `Bearer ${readToken}`;
  const response = await fetch(path, { headers });
  if (response.status === 401) throw new ReadTokenNeeded((await response.json()).message);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

/** Each filter: its query parameter (of the page's URL and of the API's) and the control that holds it. */
const FILTERS = [
  ['q', 'filter-text'],
  ['failureClass', 'filter-class'],
  ['replayed', 'filter-replayed'],
];

function filterParams() {
  const params = new URLSearchParams();
  for (const [name, id] of FILTERS) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

/** Sets the controls from `params` (the URL's at load, an alert's filter); a filter it lacks is cleared. */
function setFilters(params) {
  for (const [name, id] of FILTERS) $(id).value = params.get(name) ?? '';
}

/** The URL says what the table shows, so that a link to it (or a reload) opens the same view. */
function filtersChanged() {
  const search = filterParams().toString();
  history.replaceState(null, '', search ? `?${search}` : location.pathname);
  void refresh();
}

function query() {
  const params = filterParams();
  params.set('limit', String(PAGE));
  return params;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? '';
  if (className) td.className = className;
  return td;
}

/** A cut part, with the original's size and hash where the record has them: "value (1,048,000 bytes, sha256 3f2a…)". */
function cutPart(item, part, shortHash) {
  const original = part === 'value' ? item.originalValue : part === 'key' ? item.originalKey : null;
  if (!original) return part;
  const hash = shortHash ? `${original.sha256.slice(0, 8)}…` : original.sha256;
  return `${part} (${count.format(original.bytes)} bytes, sha256 ${hash})`;
}

function truncationMark(item) {
  const mark = document.createElement('span');
  mark.className = 'truncated';
  mark.textContent = `truncated: ${item.truncated.map((part) => cutPart(item, part, true)).join(', ')}`;
  mark.title = `cut to fit the DLQ topic: ${item.truncated.map((part) => cutPart(item, part, false)).join(', ')}`;
  return mark;
}

/** Why the service would refuse to replay the record, or undefined when it would not for this reason. */
function notReplayable(item) {
  const lossy = item.truncated.filter((part) => LOSSY_CUTS.includes(part));
  if (lossy.length === 0) return undefined;
  const cuts = lossy.map((part) => cutPart(item, part, false)).join(', ');
  return `Not replayable: cut to fit the DLQ topic, so it is no longer the original (truncated: ${cuts})`;
}

function renderRows(page) {
  const body = $('rows');
  body.replaceChildren();
  if (page.items.length === 0) {
    cell(body.insertRow(), 'No dead letters match.', 'muted').colSpan = 9;
  }
  for (const item of page.items) {
    const row = body.insertRow();
    row.dataset.id = item.id;
    if (item.replays > 0) row.classList.add('replayed');
    cell(row, new Date(item.failedAt).toLocaleString(), 'nowrap');
    const id = cell(row, item.id, 'mono nowrap');
    if (!item.inKafka) {
      // Kafka's retention removed it from the DLQ topic; the service's archive still has it, bytes and all.
      const gone = document.createElement('span');
      gone.className = 'archived';
      gone.textContent = 'archive only';
      gone.title = 'No longer in Kafka: the DLQ topic no longer holds it. Shown and replayed from the archive.';
      id.append(' ', gone);
    }
    const badge = document.createElement('span');
    badge.className = `class ${item.failureClass ?? ''}`;
    badge.textContent = item.failureClass ?? 'unknown';
    row.insertCell().append(badge);
    const reason = cell(row, item.message ?? item.reason, 'reason');
    reason.title = item.exceptionClass ?? '';
    if (item.truncated.length > 0) reason.append(truncationMark(item));
    cell(row, item.product ?? '—');
    cell(row, item.price === null ? '—' : money.format(item.price), 'num');
    cell(row, item.orderId ?? item.key ?? '—', 'mono');
    cell(row, String(item.replays), 'num');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = item.replays > 0 ? 'Replay again' : 'Replay';
    button.addEventListener('click', () => openReplay(item));
    const refusal = notReplayable(item);
    if (refusal) {
      button.disabled = true;
      button.title = refusal;
    }
    row.insertCell().append(button);
  }
  $('shown').textContent = `showing ${page.items.length} of ${count.format(page.total)}`;
}

function renderCounts(stats, orders) {
  $('dlq-total').textContent = count.format(stats.total);
  for (const failureClass of ['invalid', 'retries-exhausted', 'undecodable']) {
    $(`class-${failureClass}`).textContent = count.format(stats.byFailureClass[failureClass] ?? 0);
  }
  $('dlq-replayed').textContent = count.format(stats.replayed);
  $('processed').textContent = count.format(orders.count);
  $('average').textContent = orders.average === null ? '–' : money.format(orders.average);
}

async function refresh() {
  const mine = ++generation;
  try {
    const [page, stats, orders, alerts, history, ready] = await Promise.all([
      getJson(`/dlq?${query()}`),
      getJson('/dlq/stats'),
      getJson('/stats/orders'),
      getJson('/alerts'),
      getJson('/stats/history'),
      fetch('/ready').then((response) => response.json()),
    ]);
    if (mine !== generation) return;
    renderAlerts(alerts.alerts, (filter) => {
      setFilters(new URLSearchParams(filter));
      filtersChanged();
    });
    renderRows(page);
    renderCounts(stats, orders);
    renderCharts(history);
    $('status').dataset.state = ready.ready ? 'ready' : 'loading';
    $('status').textContent = ready.ready ? `live · ${count.format(ready.index.records)} archived` : 'loading the DLQ…';
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof ReadTokenNeeded) return askForReadToken(error.message);
    $('status').dataset.state = 'error';
    $('status').textContent = `cannot reach the service (${error.message})`;
  }
}

function askForReadToken(message) {
  $('status').dataset.state = 'loading';
  $('status').textContent = 'waiting for the read token';
  if ($('read-dialog').open) return;
  const refused = sessionStorage.getItem(READ_TOKEN_KEY) !== null;
  sessionStorage.removeItem(READ_TOKEN_KEY);
  $('read-result').textContent = refused ? `That token was refused: ${message}` : '';
  $('read-token').value = '';
  $('read-dialog').showModal();
}

function submitReadToken(event) {
  event.preventDefault();
  const token = $('read-token').value.trim();
  if (!token) return;
  sessionStorage.setItem(READ_TOKEN_KEY, token);
  $('read-dialog').close();
  void refresh();
}

function openReplay(item) {
  selected = item;
  $('replay-id').textContent = item.id;
  $('replay-topic').textContent = item.origin?.topic ?? 'its original topic';
  $('replay-token').value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  $('replay-force').checked = item.replays > 0;
  $('replay-result').textContent = '';
  delete $('replay-result').dataset.outcome;
  $('replay-submit').disabled = false;
  $('replay-dialog').showModal();
}

/** A POST with the API token: the token is kept once accepted, and forgotten when refused. */
async function postWithToken(path, token, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  if (response.ok) sessionStorage.setItem(TOKEN_KEY, token);
  if (response.status === 401) sessionStorage.removeItem(TOKEN_KEY);
  return { ok: response.ok, body: await response.json() };
}

async function replay(event) {
  event.preventDefault();
  const token = $('replay-token').value.trim();
  if (!selected || !token) return;
  $('replay-submit').disabled = true;
  const result = $('replay-result');
  try {
    const { ok, body } = await postWithToken(`/dlq/${encodeURIComponent(selected.id)}/replay`, token, {
      force: $('replay-force').checked,
    });
    if (ok) {
      result.dataset.outcome = 'ok';
      const { topic, partition, offset } = body.target;
      const where = `${topic} partition ${partition} at offset ${offset}`;
      result.textContent = `Replayed to ${where} (replay #${body.replayCount}).`;
      await refresh();
    } else {
      result.dataset.outcome = 'error';
      result.textContent = body.message;
      $('replay-submit').disabled = false;
    }
  } catch (error) {
    result.dataset.outcome = 'error';
    result.textContent = `The request failed: ${error.message}`;
    $('replay-submit').disabled = false;
  }
}

function setBulkSubmit(label, disabled) {
  $('bulk-submit').textContent = label;
  $('bulk-submit').disabled = disabled;
}

/** "2 skipped (already-replayed 1, truncated 1)", or nothing when none was. */
function skippedText(skipped) {
  if (skipped.length === 0) return '';
  const byCode = new Map();
  for (const { code } of skipped) byCode.set(code, (byCode.get(code) ?? 0) + 1);
  const codes = [...byCode].map(([code, n]) => `${code} ${count.format(n)}`).join(', ');
  return `, ${count.format(skipped.length)} skipped (${codes})`;
}

function openBulkReplay() {
  const filter = Object.fromEntries(filterParams());
  // The body is JSON, typed as sent: replayed is a boolean there.
  if (filter.replayed !== undefined) filter.replayed = filter.replayed === 'true';
  bulk = { filter, countedWith: undefined };
  const described = Object.entries(filter).map(([name, value]) => `${name} = ${value}`);
  $('bulk-filter').textContent = described.length > 0 ? described.join(', ') : 'none: every dead letter';
  $('bulk-token').value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  for (const id of ['bulk-preview', 'bulk-result']) {
    $(id).textContent = '';
    delete $(id).dataset.outcome;
  }
  setBulkSubmit('Check', false);
  $('bulk-dialog').showModal();
  // With the token kept from before, the count shows at once: the next click replays.
  if ($('bulk-token').value) void countBulk($('bulk-token').value);
}

/** POST /dlq/replay for the dialog's filter; its answer, or undefined after showing why there is none. */
async function bulkRequest(token, dryRun) {
  const result = $('bulk-result');
  try {
    const { ok, body } = await postWithToken('/dlq/replay', token, { ...bulk.filter, dryRun });
    if (ok) return body;
    result.textContent = body.message;
  } catch (error) {
    result.textContent = `The request failed: ${error.message}`;
  }
  result.dataset.outcome = 'error';
  bulk.countedWith = undefined;
  setBulkSubmit('Check', false);
  return undefined;
}

async function countBulk(token) {
  setBulkSubmit('Checking…', true);
  const answer = await bulkRequest(token, true);
  if (answer === undefined) return;
  const { matched, selected: taken, replayed, skipped } = answer;
  const oldest = taken < matched ? `, the oldest ${count.format(taken)} go in one replay` : '';
  $('bulk-preview').textContent =
    `Matching: ${count.format(matched)}${oldest}. To replay: ${count.format(replayed)}${skippedText(skipped)}.`;
  bulk.countedWith = token;
  setBulkSubmit(replayed > 0 ? `Replay ${count.format(replayed)}` : 'Nothing to replay', replayed === 0);
}

async function replayBulk(token) {
  setBulkSubmit('Replaying…', true);
  const answer = await bulkRequest(token, false);
  if (answer === undefined) return;
  const { replayed, skipped, failed, unknown } = answer;
  const result = $('bulk-result');
  result.dataset.outcome = failed.length + unknown.length === 0 ? 'ok' : 'error';
  const uncertain =
    unknown.length === 0 ? '' : `, ${count.format(unknown.length)} with no answer (check them before replaying again)`;
  const outcome = `Replayed ${count.format(replayed)}, failed ${count.format(failed.length)}`;
  result.textContent = `${outcome}${uncertain}${skippedText(skipped)}.`;
  // What matches has changed: another replay starts with another count.
  bulk.countedWith = undefined;
  setBulkSubmit('Check again', false);
  await refresh();
}

function submitBulk(event) {
  event.preventDefault();
  const token = $('bulk-token').value.trim();
  if (!bulk || !token) return;
  void (bulk.countedWith === token ? replayBulk(token) : countBulk(token));
}

$('replay-form').addEventListener('submit', replay);
$('read-form').addEventListener('submit', submitReadToken);
$('bulk-form').addEventListener('submit', submitBulk);
$('replay-cancel').addEventListener('click', () => $('replay-dialog').close());
$('bulk-cancel').addEventListener('click', () => $('bulk-dialog').close());
$('bulk-replay').addEventListener('click', openBulkReplay);
for (const [, id] of FILTERS) $(id).addEventListener('input', filtersChanged);
setFilters(new URLSearchParams(location.search));
await refresh();
setInterval(() => void refresh(), POLL_MS);
