// Starts GOV.UK Frontend. Loaded as a module from templates/base.html, so it
// only runs in browsers that GOV.UK Frontend supports. This replaces the
// inline <script> in govuk_frontend_jinja's template.html: the app's
// Content-Security-Policy allows no inline script.
import { initAll } from './govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()
