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
  // A success banner (role="alert") has focus already: GOV.UK Frontend's NotificationBanner.
  if (page.querySelector('.govuk-notification-banner--success[role="alert"]')) return
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

// The inbox's "Select all cases on this page" (issue 17): ticking it ticks every case on the page,
// and unticking a case unticks it. Without JavaScript the server reads it as every case on the page.
function selectAll (form) {
  const all = form.querySelector('.cf-select-all input[type="checkbox"]')
  const cases = Array.from(form.querySelectorAll('input.cf-case-choice'))
  if (!all || !cases.length) return
  all.addEventListener('change', () => { cases.forEach((box) => { box.checked = all.checked }) })
  cases.forEach((box) => box.addEventListener('change', () => { all.checked = cases.every((b) => b.checked) }))
}
document.querySelectorAll('form.cf-bulk').forEach(selectAll)
document.addEventListener('htmx:load', (event) => {
  const element = event.target
  if (element instanceof Element) element.querySelectorAll('form.cf-bulk').forEach(selectAll)
})

// Unsaved changes (issue 17): a form marked data-cf-warn-unsaved warns before its page is left
// with changes not saved, when the tab is closed or the address changed (beforeunload: the
// browser's own words) and when a link or another form is followed inside the page (htmx boosts
// those, so there is no unload: a confirm() asks instead). Submitting the form itself never warns.
// Without JavaScript nothing warns, and nothing else changes.
const warned = 'form[data-cf-warn-unsaved]'

function formState (form) {
  const data = new FormData(form)
  data.delete('csrf_token')
  return new URLSearchParams(data).toString()
}

function rememberForms (root) {
  const forms = root.matches?.(warned) ? [root] : Array.from(root.querySelectorAll?.(warned) ?? [])
  forms.forEach((form) => { if (!('cfSaved' in form.dataset)) form.dataset.cfSaved = formState(form) })
}

function unsavedForm () {
  return Array.from(document.querySelectorAll(warned)).find(
    (form) => !form.dataset.cfSubmitting && 'cfSaved' in form.dataset && formState(form) !== form.dataset.cfSaved
  )
}

rememberForms(document)
document.addEventListener('htmx:load', (event) => { if (event.target instanceof Element) rememberForms(event.target) })
document.addEventListener('submit', (event) => {
  if (event.target instanceof HTMLFormElement && event.target.matches(warned)) event.target.dataset.cfSubmitting = 'yes'
}, true)

window.addEventListener('beforeunload', (event) => {
  if (!unsavedForm()) return
  event.preventDefault()
  event.returnValue = '' // older browsers show their warning only when this is set
})

document.addEventListener('htmx:confirm', (event) => {
  const form = unsavedForm()
  const from = event.detail?.elt
  // The form's own requests (its live preview, its submit) are not leaving it.
  if (!form || !(from instanceof Element) || form.contains(from) || from === form) return
  event.preventDefault()
  if (window.confirm('You have changes that are not saved. Leave this page and lose them?')) {
    form.dataset.cfSubmitting = 'yes' // leaving on purpose: no second warning on unload
    event.detail.issueRequest(true)
  }
})
