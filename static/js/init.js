// Starts the NHS.UK frontend components (header menu, skip link, buttons). Every page works
// without this; it only adds the behaviour the design system provides.
import { initAll } from '/nhsuk/nhsuk-frontend.min.js'

initAll()
