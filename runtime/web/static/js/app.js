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

// A condition's "Answer to compare with" (builder, issue 17): once a question with choices (yes or
// no, radios, a select list) is chosen, its answers are offered as a select list instead of a box to
// type in; the choices come from the question's option (data-cf-choices). "Is one of" keeps the box
// (several answers, separated by commas). Without JavaScript the box stays, and the page offers the
// choices when it is shown again with the question chosen.
function answerChoices (clause) {
  const question = clause.querySelector('select[name$=".question"]')
  const operator = clause.querySelector('select[name$=".operator"]')
  const value = clause.querySelector('[name$=".value"]')
  if (!question || !operator || !value || value.type === 'checkbox' || clause.dataset.cfChoices) return
  clause.dataset.cfChoices = 'on'
  let offered = value instanceof HTMLSelectElement ? value : null // the server offered the choices already
  let typed = value
  if (offered) {
    typed = document.createElement('input')
    Object.assign(typed, { type: 'text', className: 'govuk-input', id: value.id, name: value.name })
  }
  // The hint under the box tells how to type the answer: hidden while the answers are offered.
  const hint = offered ? null : document.getElementById(typed.id + '-hint')
  const described = (typed.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== hint?.id)
  const update = () => {
    const data = question.selectedOptions[0]?.dataset.cfChoices
    const current = offered ?? typed
    if (!data || operator.value === 'is_one_of') {
      if (offered) { typed.value = offered.value; offered.replaceWith(typed); offered = null }
      hint?.removeAttribute('hidden')
      return
    }
    const select = document.createElement('select')
    select.className = 'govuk-select'
    select.id = typed.id
    select.name = typed.name
    if (described.length) select.setAttribute('aria-describedby', described.join(' '))
    select.append(new Option('Select an answer', ''))
    const was = current.value.trim().toLowerCase()
    for (const [posted, shown] of JSON.parse(data)) {
      const chosen = was !== '' && (posted.toLowerCase() === was || shown.toLowerCase() === was)
      select.append(new Option(shown, posted, chosen, chosen))
    }
    current.replaceWith(select)
    offered = select
    hint?.setAttribute('hidden', '')
  }
  question.addEventListener('change', update)
  operator.addEventListener('change', update)
  if (!offered) update()
}
function enhanceClauses (root) { root.querySelectorAll?.('.cf-clause').forEach(answerChoices) }
enhanceClauses(document)
document.addEventListener('htmx:load', (event) => { if (event.target instanceof Element) enhanceClauses(event.target) })

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
