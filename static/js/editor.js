// The entry editor's reveals. Without JavaScript the server does the same on each post: the
// evidence section is shown for evaluation evidence (and whenever it holds something), the
// entry's own site is left out of "Other sites involved", and the web address a new entry will
// get is shown from its title. Nothing here removes what was typed: a hidden section's fields
// are still sent, and the server refuses evidence for another type with a message.
const form = document.querySelector('form.kb-editor')

if (form) {
  const section = form.querySelector('[data-evidence-section]')
  const note = form.querySelector('[data-evidence-note]')
  const showEvidence = () => {
    if (!section) return
    const chosen = form.querySelector('input[name="type"]:checked')
    // A section holding a message stays open, so the message can be read and acted on.
    const open = (chosen && chosen.value === 'evidence') || section.querySelector('.nhsuk-form-group--error') !== null
    section.hidden = !open
    if (note) note.hidden = open
  }
  form.querySelectorAll('input[name="type"]').forEach((radio) => radio.addEventListener('change', showEvidence))
  showEvidence()

  const site = form.querySelector('select[name="site"]')
  const offerOtherSites = () => {
    form.querySelectorAll('[data-other-sites] [data-site]').forEach((item) => {
      const box = item.querySelector('input')
      item.hidden = item.dataset.site === site.value && !box.checked
    })
  }
  if (site) site.addEventListener('change', offerOtherSites)

  // The same rule as kb.services.authoring.slug_for, without the check for addresses already
  // taken (the server adds -2 if needed, and shows it on Preview).
  const address = form.querySelector('[data-entry-address]')
  const addressNote = form.querySelector('[data-entry-address-note]')
  const title = form.querySelector('input[name="title"]')
  const chosenSlug = form.querySelector('input[name="slug"]')
  const slugFor = (text) => {
    const plain = text.normalize('NFKD').replace(/[^\x00-\x7f]/g, '').toLowerCase()
    let slug = plain.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
    if (slug.length > 70) {
      const cut = slug.slice(0, 71)
      slug = cut.includes('-') ? cut.slice(0, cut.lastIndexOf('-')) : slug.slice(0, 70)
    }
    return slug.replace(/-+$/, '')
  }
  const showAddress = () => {
    const own = chosenSlug && chosenSlug.value.trim()
    address.textContent = own || slugFor(title.value) || '…'
    if (addressNote) addressNote.hidden = Boolean(own || title.value.trim())
  }
  if (address && title) {
    title.addEventListener('input', showAddress)
    if (chosenSlug) chosenSlug.addEventListener('input', showAddress)
  }
}
