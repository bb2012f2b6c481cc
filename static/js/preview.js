// Live preview for the entry editor. Without JavaScript the "Preview" button does the same by
// posting the form; with it, the whole entry is previewed as it is typed. The server renders it
// with the entry page's own template (the body through the same sanitising function) and returns
// an HTML fragment, so nothing here interprets the author's text. Nothing is saved.
const form = document.querySelector('form[data-preview-url]')
const body = form && form.querySelector('textarea[name="body"]')
const region = document.getElementById('preview')
const content = document.getElementById('preview-content')

if (form && body && region && content && window.fetch) {
  const token = form.querySelector('input[name="csrf_token"]').value
  let timer = null
  let latest = 0

  const refresh = async () => {
    const request = ++latest
    const data = new FormData(form)
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: 'POST',
        body: data,
        headers: { 'X-CSRFToken': token },
        credentials: 'same-origin'
      })
      // Answers can arrive out of order: only the newest one is shown. A redirect means the
      // session ended (to the sign-in page): leave the preview as it was.
      if (!response.ok || response.redirected || request !== latest) return
      content.innerHTML = await response.text()
      region.hidden = false
    } catch (error) {
      // The Preview button still works; a failed live preview changes nothing.
    }
  }

  const later = () => {
    clearTimeout(timer)
    timer = setTimeout(refresh, 500)
  }
  // Any change to the entry, not just its text: the preview is of the whole entry.
  form.addEventListener('input', later)
  form.addEventListener('change', later)
}
