// Service worker for the register (served at /sw.js so its scope is the whole site).
//
// Register pages and the "My sessions" list are network-first: the latest copy is kept in the
// cache and shown when there is no network, so a reload with no Wi-Fi still shows the register
// (the page's script then lays the marks waiting in IndexedDB over it). Static assets are
// network-first too, falling back to the cache. Nothing else is cached. Signing out empties the
// page cache (it holds parents' first names); the queue of marks is kept until it has synced.

const VERSION = 'v1'
const PAGES = `groupwork-pages-${VERSION}`
const ASSETS = `groupwork-assets-${VERSION}`
const PRECACHE = [
  '/static/css/app.css',
  '/static/js/govuk-frontend.min.js',
  '/static/js/init.js',
  '/static/js/register.js',
  '/static/images/favicon.svg',
  '/static/manifest.json'
]
const OFFLINE_PAGES = [/^\/sessions\/\d+\/register$/, /^\/sessions\/mine$/]
// a network that hangs (weak Wi-Fi) should not keep a facilitator waiting for a page we have
const NETWORK_TIMEOUT_MS = 4000

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(ASSETS)
    await Promise.all(PRECACHE.map((url) => cache.add(url).catch(() => null)))
    await self.skipWaiting()
  })())
})

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('groupwork-') && name !== PAGES && name !== ASSETS) await caches.delete(name)
    }
    await self.clients.claim()
  })())
})

function withTimeout (promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms)
    promise.then((value) => { clearTimeout(timer); resolve(value) }, (error) => { clearTimeout(timer); reject(error) })
  })
}

async function networkFirst (request, cacheName, { timeout } = {}) {
  const cache = await caches.open(cacheName)
  const cached = await cache.match(request, { ignoreSearch: true })
  try {
    const fetching = fetch(request)
    const response = await (cached && timeout ? withTimeout(fetching, timeout) : fetching)
    // Only real pages: not a redirect to the sign-in page, not an error.
    if (response.ok && !response.redirected && response.type === 'basic') {
      await cache.put(request, response.clone())
    }
    return response
  } catch (error) {
    if (cached) return cached
    return new Response(
      '<!doctype html><html lang="en"><meta charset="utf-8"><title>Offline – Groupwork</title>' +
      '<p>You are offline and this page has not been opened on this tablet before. ' +
      'Marks already made are kept and will sync when the network is back.</p></html>',
      { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } }
    )
  }
}

// The page asks for itself to be kept as soon as the worker is ready: the first visit to a
// register did not go through the worker, and the Wi-Fi may drop before the next one.
self.addEventListener('message', (event) => {
  const data = event.data || {}
  if (data.type !== 'keep-page' || typeof data.path !== 'string') return
  if (!OFFLINE_PAGES.some((re) => re.test(data.path))) return
  event.waitUntil((async () => {
    const cache = await caches.open(PAGES)
    if (await cache.match(data.path)) return
    const response = await fetch(data.path, { credentials: 'same-origin', redirect: 'manual' })
    if (response.ok && response.type === 'basic') await cache.put(data.path, response)
  })().catch(() => null))
})

self.addEventListener('fetch', (event) => {
  const request = event.request
  const url = new URL(request.url)
  if (url.origin !== self.location.origin) return
  if (request.method === 'POST' && url.pathname === '/logout') {
    event.respondWith((async () => {
      await caches.delete(PAGES)
      return fetch(request)
    })())
    return
  }
  if (request.method !== 'GET') return
  if (url.pathname.startsWith('/static/')) {
    event.respondWith(networkFirst(request, ASSETS, { timeout: NETWORK_TIMEOUT_MS }))
  } else if (request.mode === 'navigate' && OFFLINE_PAGES.some((re) => re.test(url.pathname))) {
    event.respondWith(networkFirst(request, PAGES, { timeout: NETWORK_TIMEOUT_MS }))
  }
})
