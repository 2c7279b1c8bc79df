// The register on a tablet, offline-first.
//
// Every tap becomes a mark with its own id (crypto.randomUUID) and the time it was made, and
// waits in IndexedDB until the server has it. The queue is sent in order on page load and
// whenever the browser says it is back online (no Background Sync: not every tablet has it).
// The server is idempotent: a mark sent twice changes nothing, an older tap never overwrites a
// newer one. A fresh CSRF token is fetched before each flush, so a queue left for hours still
// syncs. 401/403 keep the queue: marks survive signing out and sync after the next sign-in.
// Loaded as a module from templates/attendance/*.html; no inline script (CSP).

const DB_NAME = 'groupwork-register'
const STORE = 'marks' // taps waiting to sync, in order
const KNOWN = 'known' // the last mark the server confirmed, per session and parent (no names)
const KNOWN_DAYS = 30
const RETRY_MS = 30000
const LABELS = { attended: 'Here', apologies: 'Apologies', absent: 'Not here' }

const root = document.querySelector('[data-register], [data-register-sync-only]')

// --- IndexedDB: one store of queued marks, keyed by an increasing sequence number -------------

let dbPromise = null
function openDb () {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const request = window.indexedDB.open(DB_NAME, 2)
      request.onupgradeneeded = () => {
        const names = request.result.objectStoreNames
        if (!names.contains(STORE)) request.result.createObjectStore(STORE, { keyPath: 'seq', autoIncrement: true })
        if (!names.contains(KNOWN)) request.result.createObjectStore(KNOWN, { keyPath: 'key' })
      }
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
  }
  return dbPromise
}

async function withStore (mode, action, name = STORE) {
  const db = await openDb()
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode)
    const result = action(tx.objectStore(name))
    tx.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined)
    tx.onerror = () => reject(tx.error)
    tx.onabort = () => reject(tx.error)
  })
}

const queued = () => withStore('readonly', (store) => store.getAll())
const enqueue = (item) => withStore('readwrite', (store) => store.add(item))
const dequeue = (seq) => withStore('readwrite', (store) => store.delete(seq))
const knownMarks = () => withStore('readonly', (store) => store.getAll(), KNOWN)
const remember = (mark) => withStore('readwrite', (store) => store.put({
  key: `${mark.session_id}:${mark.enrolment_id}`,
  status: mark.status,
  isLate: mark.is_late,
  isAuto: mark.is_auto,
  markedAt: mark.marked_at,
  savedAt: Date.now()
}), KNOWN)
const forget = (key) => withStore('readwrite', (store) => store.delete(key), KNOWN)

function newId () {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID()
  const bytes = window.crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

// --- showing state -----------------------------------------------------------------------------

const sessionId = root && root.dataset.sessionId ? Number(root.dataset.sessionId) : null
const syncText = document.querySelector('[data-register-sync-text]')
let problem = null // 'offline', 'signin', 'forbidden', 'retry'

function rowFor (enrolmentId) {
  return root && root.querySelector(`[data-enrolment-id="${enrolmentId}"]`)
}

function timeLabel (iso) {
  const when = new Date(iso)
  return Number.isNaN(when.getTime()) ? '' : when.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London' })
}

function showRow (row, { status, late, markedAt, waiting, auto }) {
  row.dataset.status = status || ''
  row.dataset.late = late ? 'true' : 'false'
  row.dataset.markedAt = markedAt || ''
  row.classList.toggle('app-attendance__parent--waiting', Boolean(waiting))
  for (const button of row.querySelectorAll('button[data-status]')) {
    button.setAttribute('aria-pressed', button.dataset.status === status ? 'true' : 'false')
  }
  const lateButton = row.querySelector('button[data-late-toggle]')
  if (lateButton) lateButton.setAttribute('aria-pressed', late ? 'true' : 'false')
  const state = row.querySelector('[data-state]')
  if (state) {
    if (!status) {
      state.textContent = 'Not marked yet'
    } else {
      let text = LABELS[status] + (late ? ', late' : '') + (auto ? ' (register closed)' : '')
      text += ' · ' + timeLabel(markedAt) + (waiting ? ' · waiting to sync' : ' · saved')
      state.textContent = text
    }
  }
  updateCounts()
}

function updateCounts () {
  if (!root) return
  const counts = { attended: 0, apologies: 0, absent: 0, unmarked: 0 }
  for (const row of root.querySelectorAll('[data-enrolment-id]')) {
    counts[row.dataset.status || 'unmarked'] += 1
  }
  for (const [key, value] of Object.entries(counts)) {
    const cell = root.querySelector(`[data-count="${key}"]`)
    if (cell) cell.textContent = String(value)
  }
}

async function showQueue () {
  let items = []
  try {
    items = await queued()
  } catch (error) {
    if (syncText) syncText.textContent = 'This browser cannot keep marks offline (storage is switched off).'
    return items
  }
  if (syncText) {
    const n = items.length
    const waiting = `${n} mark${n === 1 ? '' : 's'} waiting to sync`
    if (n === 0) {
      syncText.textContent = root && root.dataset.register !== undefined ? 'All marks are saved.' : ''
    } else if (problem === 'offline') {
      syncText.textContent = `${waiting}. You are offline: they will sync when the network is back.`
    } else if (problem === 'signin') {
      syncText.textContent = `${waiting}. Sign in again to sync them (they are kept on this tablet).`
    } else if (problem === 'forbidden') {
      syncText.textContent = `${waiting}. They need a facilitator of that session to sign in on this tablet.`
    } else {
      syncText.textContent = `${waiting}.`
    }
  }
  const banner = document.querySelector('[data-online-only]')
  if (banner) banner.hidden = navigator.onLine
  return items
}

// --- tapping -----------------------------------------------------------------------------------

async function tap (row, button) {
  let status = row.dataset.status
  let late = row.dataset.late === 'true'
  if (button.dataset.status) {
    status = button.dataset.status
    if (status !== 'attended') late = false // late only means something for someone who came
  } else {
    late = !late
    status = 'attended' // marking late says they came
  }
  const markedAt = new Date().toISOString()
  const enrolmentId = Number(row.dataset.enrolmentId)
  const refused = row.querySelector('[data-refused]')
  if (refused) refused.hidden = true
  showRow(row, { status, late, markedAt, waiting: true })
  // said at once, so nobody (and no test) reads the old "All marks are saved." while this one is queued
  if (syncText) syncText.textContent = 'Saving…'
  const item = {
    url: `${root.dataset.apiBase}/attendance/${enrolmentId}`,
    sessionId,
    enrolmentId,
    status,
    isLate: late,
    clientMarkId: newId(),
    markedAt
  }
  await enqueue(item)
  await showQueue()
  flush()
}

// --- syncing -----------------------------------------------------------------------------------

let flushing = null
let again = false
let retryTimer = null

function flush () {
  if (flushing) {
    again = true
    return flushing
  }
  flushing = (async () => {
    do {
      again = false
      await flushOnce()
    } while (again)
  })().finally(() => { flushing = null })
  return flushing
}

function retryLater () {
  if (retryTimer) window.clearTimeout(retryTimer)
  retryTimer = window.setTimeout(() => { retryTimer = null; flush() }, RETRY_MS)
}

async function freshToken () {
  const url = (root && root.dataset.csrfUrl) || '/csrf-token'
  const response = await fetch(url, {
    credentials: 'same-origin', redirect: 'manual', cache: 'no-store', headers: { Accept: 'application/json' }
  })
  if (response.type === 'opaqueredirect' || response.status === 401 || response.status === 403) return null
  if (!response.ok) throw new Error('token ' + response.status)
  return (await response.json()).csrf_token
}

async function flushOnce () {
  const items = await showQueue()
  if (!items.length) { problem = null; return showQueue() }
  if (!navigator.onLine) { problem = 'offline'; return showQueue() }
  let token
  try {
    token = await freshToken()
  } catch (error) {
    problem = 'offline'
    retryLater()
    return showQueue()
  }
  if (token === null) { problem = 'signin'; return showQueue() }
  problem = null
  const refusedSessions = new Set()
  for (const [index, item] of items.entries()) {
    if (refusedSessions.has(item.sessionId)) continue
    let response
    try {
      response = await fetch(item.url, {
        method: 'PUT',
        credentials: 'same-origin',
        redirect: 'manual',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': token },
        body: JSON.stringify({
          status: item.status, client_mark_id: item.clientMarkId, marked_at: item.markedAt, is_late: item.isLate
        })
      })
    } catch (error) {
      problem = 'offline'
      retryLater()
      return showQueue()
    }
    if (response.ok) {
      const mark = await response.json().catch(() => null)
      if (mark) await remember(mark)
      await dequeue(item.seq)
      const later = items.slice(index + 1).some((o) => o.sessionId === item.sessionId && o.enrolmentId === item.enrolmentId)
      const row = item.sessionId === sessionId ? rowFor(item.enrolmentId) : null
      if (row && mark && !later) {
        showRow(row, { status: mark.status, late: mark.is_late, markedAt: mark.marked_at, auto: mark.is_auto })
      }
      await showQueue()
      continue
    }
    if (response.type === 'opaqueredirect' || response.status === 401) {
      problem = 'signin'
      return showQueue()
    }
    if (response.status === 403) {
      // not a facilitator of that session: keep its marks for someone who is
      refusedSessions.add(item.sessionId)
      problem = 'forbidden'
      continue
    }
    if ([404, 409, 422].includes(response.status)) {
      // refused for good (not enrolled, cancelled session...): say so, do not retry forever
      const body = await response.json().catch(() => ({}))
      await dequeue(item.seq)
      const row = item.sessionId === sessionId ? rowFor(item.enrolmentId) : null
      if (row) {
        const refused = row.querySelector('[data-refused]')
        if (refused) {
          refused.textContent = 'Not saved: ' + ((body.error && body.error.message) || 'the server refused this mark.')
          refused.hidden = false
        }
        showRow(row, { status: '', late: false })
      }
      continue
    }
    // 400 (token refused), 429, 5xx: try again later, in the same order
    problem = 'retry'
    retryLater()
    return showQueue()
  }
  return showQueue()
}

// --- start ---------------------------------------------------------------------------------------

async function start () {
  if ('serviceWorker' in navigator && root && root.dataset.swUrl) {
    navigator.serviceWorker.register(root.dataset.swUrl, { scope: '/' }).catch(() => {})
    navigator.serviceWorker.ready.then((registration) => {
      if (registration.active) registration.active.postMessage({ type: 'keep-page', path: window.location.pathname })
    })
  }
  if (root && root.dataset.register !== undefined) {
    root.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-status], button[data-late-toggle]')
      if (!button || !root.contains(button)) return
      const row = button.closest('[data-enrolment-id]')
      if (!row) return
      event.preventDefault()
      tap(row, button)
    })
    // Forms other than marks need the network: say so rather than show the browser's error page.
    for (const form of root.querySelectorAll('form[data-needs-network], .app-attendance__creche-form')) {
      form.addEventListener('submit', (event) => {
        if (!navigator.onLine) {
          event.preventDefault()
          const banner = document.querySelector('[data-online-only]')
          if (banner) { banner.hidden = false; banner.scrollIntoView({ block: 'center' }) }
        }
      })
    }
  }
  // A page shown from the offline cache may be older than marks already synced: show the newer.
  try {
    for (const known of await knownMarks()) {
      if (Date.now() - known.savedAt > KNOWN_DAYS * 86400000) { await forget(known.key); continue }
      const [knownSession, enrolmentId] = known.key.split(':').map(Number)
      const row = knownSession === sessionId ? rowFor(enrolmentId) : null
      if (row && (!row.dataset.markedAt || new Date(known.markedAt) > new Date(row.dataset.markedAt))) {
        showRow(row, { status: known.status, late: known.isLate, markedAt: known.markedAt, auto: known.isAuto })
      }
    }
  } catch (error) { /* storage switched off: the queue below says so */ }
  // Marks still waiting from before a reload (maybe offline): show them as they were tapped.
  const items = await showQueue()
  for (const item of items) {
    const row = item.sessionId === sessionId ? rowFor(item.enrolmentId) : null
    if (row) showRow(row, { status: item.status, late: item.isLate, markedAt: item.markedAt, waiting: true })
  }
  window.addEventListener('online', () => { problem = null; flush() })
  window.addEventListener('offline', () => { problem = 'offline'; showQueue() })
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') flush() })
  await flush()
  if (root) root.dataset.registerReady = 'true'
}

if (root && 'indexedDB' in window) {
  start()
}
