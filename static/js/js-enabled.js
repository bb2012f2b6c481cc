// Lets the NHS.UK frontend style JavaScript-only features; kept in a file so the
// Content-Security-Policy never needs to allow inline scripts.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' nhsuk-frontend-supported' : '');
