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

// After htmx swaps a new page in (a boosted link or form, or the browser's back button), nothing
// tells a screen reader that the page changed, and focus is left on an element that no longer
// exists. So move focus to the new page's h1, which is then announced, as a full page load
// would start at the top. A page with an error summary is left alone: GOV.UK Frontend's
// ErrorSummary focuses itself.
function focusHeading (page) {
  if (!(page instanceof Element) || page.id !== 'page' || !page.isConnected) return
  if (page.querySelector('.govuk-error-summary')) return
  const heading = page.querySelector('h1')
  if (!heading) return
  if (!heading.hasAttribute('tabindex')) {
    heading.setAttribute('tabindex', '-1')
    heading.classList.add('cf-focused-heading')
    // Like GOV.UK Frontend's skip link target: not focusable again once focus has moved on.
    heading.addEventListener('blur', () => {
      heading.removeAttribute('tabindex')
      heading.classList.remove('cf-focused-heading')
    }, { once: true })
  }
  heading.focus({ preventScroll: true })
}

document.addEventListener('htmx:afterSettle', (event) => focusHeading(event.target))
document.addEventListener('htmx:historyRestore', () => focusHeading(document.getElementById('page')))
