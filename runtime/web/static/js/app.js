// Civic Forms front-end entry point.
//
// Load with <script type="module" src=".../static/js/app.js"></script>.
// No inline scripts: the page must work under a strict Content Security Policy.

import { initAll } from '../dist/js/govuk-frontend.min.js'

const body = document.body

// The GOV.UK Frontend page template marks support with an inline <script>.
// Under a strict CSP that snippet may be left out, so do it here instead:
// a browser that runs this module script passes the same `noModule` test.
if (!body.classList.contains('govuk-frontend-supported') && 'noModule' in HTMLScriptElement.prototype) {
  body.classList.add('js-enabled', 'govuk-frontend-supported')
}

if (body.classList.contains('govuk-frontend-supported')) {
  initAll()

  // Initialise GOV.UK Frontend components in content that htmx swaps in later.
  // htmx fires `htmx:load` on each new element (and once on <body> at start-up,
  // which initAll() above has already handled).
  document.addEventListener('htmx:load', (event) => {
    const element = event.target
    if (!(element instanceof Element) || element === body || !element.parentElement) return
    initAll({
      // Search from the parent so a swapped-in element that is itself a
      // component root (data-module="govuk-...") is found too.
      scope: element.parentElement,
      onError (error) {
        // Siblings that were already initialised are expected; anything else is not.
        if (error?.name !== 'InitError') console.error(error)
      }
    })
  })
}
