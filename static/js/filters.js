// Opens the search page's "Filter results" disclosure on wide screens, where there is room for
// the filters beside the results. Without JavaScript it stays closed (the active filters show
// beside the result count either way); on a phone it stays closed so the results come first.
const wide = window.matchMedia('(min-width: 48.0625em)')

for (const details of document.querySelectorAll('details[data-kb-open-wide]')) {
  if (wide.matches) details.open = true
}
