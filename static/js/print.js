// "Print this page" links (class kb-print-link): open the browser's print dialogue. Kept in a
// file because the Content-Security-Policy forbids inline handlers; kb.css shows the links only
// when the js-enabled class is on <body>, so without JavaScript there is no link that does nothing.
document.querySelectorAll('.kb-print-link').forEach(function (link) {
  link.addEventListener('click', function (event) {
    event.preventDefault()
    window.print()
  })
})
