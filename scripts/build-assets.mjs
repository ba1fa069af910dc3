#!/usr/bin/env node
// Build the front-end assets for Civic Forms into runtime/web/static/dist/.
//
//   dist/css/govuk.css         precompiled GOV.UK Frontend (GDS Transport,
//                              for services on GOV.UK) + _extras.scss
//   dist/css/civicforms.css    GOV.UK Frontend compiled from
//                              src/civicforms.scss: Arial, no @font-face
//   dist/js/govuk-frontend.min.js (+ .map)  ES module from govuk-frontend
//   dist/js/htmx.min.js        htmx 2 (classic script)
//   dist/assets/               GOV.UK Frontend fonts, images, manifest.json,
//                              served by the app at /assets/
//
// Every output is written to a temporary file and renamed into place, so the
// build is idempotent and a running server never sees half-written files.
// Exits non-zero on any error.

import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const started = performance.now()

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const nodeModules = path.join(root, 'node_modules')
const staticDir = path.join(root, 'runtime', 'web', 'static')
const srcDir = path.join(staticDir, 'src')
const distDir = path.join(staticDir, 'dist')

const govukDist = path.join(nodeModules, 'govuk-frontend', 'dist', 'govuk')
const htmxDist = path.join(nodeModules, 'htmx.org', 'dist')

const sourceMapComment = /\/\*#\s*sourceMappingURL=[^*]*\*\/\s*$/

function fail (message) {
  console.error(`build-assets: ${message}`)
  process.exit(1)
}

let sass
try {
  sass = await import('sass')
} catch (error) {
  fail(`cannot load the "sass" package (run "npm ci" first): ${error.message}`)
}

function requireFile (file) {
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
    fail(`missing ${path.relative(root, file)} (run "npm ci" first)`)
  }
  return file
}

function packageVersion (name) {
  const pkg = path.join(nodeModules, name, 'package.json')
  return JSON.parse(fs.readFileSync(requireFile(pkg), 'utf8')).version
}

/** Write a file atomically, only touching it when the content changes. */
function writeFile (file, content) {
  const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8')
  const existing = fs.statSync(file, { throwIfNoEntry: false })
  if (existing?.isFile() && existing.size === data.length && fs.readFileSync(file).equals(data)) {
    return
  }
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.tmp-${process.pid}`
  fs.writeFileSync(tmp, data)
  fs.renameSync(tmp, file)
}

function copyFile (from, to) {
  writeFile(to, fs.readFileSync(requireFile(from)))
}

/** Mirror a directory: copy every file and delete files no longer in the source. */
function mirrorDir (from, to) {
  if (!fs.statSync(from, { throwIfNoEntry: false })?.isDirectory()) {
    fail(`missing directory ${path.relative(root, from)} (run "npm ci" first)`)
  }
  fs.mkdirSync(to, { recursive: true })
  const wanted = new Set()
  let count = 0
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    wanted.add(entry.name)
    const src = path.join(from, entry.name)
    const dest = path.join(to, entry.name)
    if (entry.isDirectory()) {
      const destStat = fs.lstatSync(dest, { throwIfNoEntry: false })
      if (destStat && !destStat.isDirectory()) fs.rmSync(dest, { force: true })
      count += mirrorDir(src, dest)
    } else if (entry.isFile()) {
      const destStat = fs.lstatSync(dest, { throwIfNoEntry: false })
      if (destStat?.isDirectory()) fs.rmSync(dest, { recursive: true, force: true })
      copyFile(src, dest)
      count += 1
    }
  }
  for (const name of fs.readdirSync(to)) {
    if (!wanted.has(name)) fs.rmSync(path.join(to, name), { recursive: true, force: true })
  }
  return count
}

function compileSass (file, style) {
  const warnings = []
  const result = sass.compile(requireFile(file), {
    style,
    loadPaths: [nodeModules],
    sourceMap: false,
    charset: true,
    // Report deprecations in our own Sass, not in GOV.UK Frontend's.
    quietDeps: true,
    logger: {
      warn (message, { deprecation, span }) {
        const where = span?.url ? ` (${path.relative(root, fileURLToPath(span.url))}:${span.start.line + 1})` : ''
        warnings.push(`${deprecation ? 'deprecation' : 'warning'}${where}: ${message}`)
      },
      debug () {}
    }
  })
  for (const warning of warnings) console.warn(`build-assets: sass ${warning}`)
  return result.css
}

/** Strip a leading @charset so the result can be appended to another stylesheet. */
function withoutCharset (css) {
  return css.replace(/^\uFEFF?@charset\s+"[^"]*";\s*/i, '')
}

function checkUrls (name, css, { allowFonts }) {
  for (const [, raw] of css.matchAll(/url\(\s*([^)]*?)\s*\)/g)) {
    const url = raw.replace(/^["']|["']$/g, '')
    if (url.startsWith('data:')) continue
    if (!url.startsWith('/assets/')) fail(`${name}: unexpected url(${url}), expected /assets/...`)
    const file = path.join(distDir, 'assets', url.slice('/assets/'.length).split(/[?#]/)[0])
    if (!fs.existsSync(file)) fail(`${name}: url(${url}) does not resolve to a file in dist/assets/`)
    if (!allowFonts && url.startsWith('/assets/fonts/')) fail(`${name}: must not reference fonts (${url})`)
  }
}

try {
  const versions = {
    'govuk-frontend': packageVersion('govuk-frontend'),
    'htmx.org': packageVersion('htmx.org'),
    sass: sass.info.split(/\s+/)[1] ?? packageVersion('sass')
  }

  fs.mkdirSync(distDir, { recursive: true })

  // GOV.UK Frontend static assets (fonts, images, manifest.json and, in
  // releases that ship one, the rebrand folder), served at /assets/.
  const assetCount = mirrorDir(path.join(govukDist, 'assets'), path.join(distDir, 'assets'))

  // Our own additions, shared by both stylesheets.
  const extrasCss = withoutCharset(compileSass(path.join(srcDir, '_extras.scss'), 'compressed'))

  // govuk.css: the precompiled GOV.UK-branded stylesheet, with our extras.
  // Its source map no longer matches once we append, so drop the comment.
  const govukCss =
    fs.readFileSync(requireFile(path.join(govukDist, 'govuk-frontend.min.css')), 'utf8')
      .replace(sourceMapComment, '')
      .trimEnd() +
    '\n' + extrasCss.trim() + '\n'
  checkUrls('govuk.css', govukCss, { allowFonts: true })
  if (!govukCss.includes('GDS Transport')) fail('govuk.css: expected the GDS Transport typeface')
  writeFile(path.join(distDir, 'css', 'govuk.css'), govukCss)

  // civicforms.css: GOV.UK Frontend without GDS Transport, plus extras.
  const civicCss = compileSass(path.join(srcDir, 'civicforms.scss'), 'compressed').trim() + '\n'
  checkUrls('civicforms.css', civicCss, { allowFonts: false })
  if (/GDS Transport|@font-face/i.test(civicCss)) {
    fail('civicforms.css: must not use the GDS Transport typeface or declare @font-face')
  }
  if (!civicCss.includes('--cf-brand-colour')) fail('civicforms.css: _extras.scss was not included')
  writeFile(path.join(distDir, 'css', 'civicforms.css'), civicCss)

  // JavaScript.
  copyFile(path.join(govukDist, 'govuk-frontend.min.js'), path.join(distDir, 'js', 'govuk-frontend.min.js'))
  copyFile(path.join(govukDist, 'govuk-frontend.min.js.map'), path.join(distDir, 'js', 'govuk-frontend.min.js.map'))
  copyFile(path.join(htmxDist, 'htmx.min.js'), path.join(distDir, 'js', 'htmx.min.js'))

  // A small manifest for cache-busting / debugging.
  const hash = (file) => createHash('sha256').update(fs.readFileSync(path.join(distDir, file))).digest('hex').slice(0, 12)
  const files = ['css/govuk.css', 'css/civicforms.css', 'js/govuk-frontend.min.js', 'js/htmx.min.js']
  const manifest = { versions, files: Object.fromEntries(files.map((f) => [f, hash(f)])) }
  writeFile(path.join(distDir, 'build-manifest.json'), JSON.stringify(manifest, null, 2) + '\n')

  const kb = (s) => `${(Buffer.byteLength(s) / 1024).toFixed(0)} kB`
  const ms = Math.round(performance.now() - started)
  console.log(
    `build-assets: ${path.relative(root, distDir)}/ govuk.css ${kb(govukCss)}, civicforms.css ${kb(civicCss)}, ` +
    `2 js, ${assetCount} assets (govuk-frontend ${versions['govuk-frontend']}, htmx ${versions['htmx.org']}, ` +
    `sass ${versions.sass}) in ${ms} ms`
  )
} catch (error) {
  // Sass exceptions carry a readable message with the source excerpt.
  fail(error instanceof sass.Exception ? error.message : (error?.stack ?? String(error)))
}
