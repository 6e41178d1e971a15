// Escaping for the XML and HTML reports (JUnit, matrix). Names and messages can
// come from outside (scenario files, a kernel's answers): a control character
// XML 1.0 cannot carry even escaped, or an unpaired surrogate, becomes U+FFFD,
// so a name can never break the document.
export const esc = (s: string): string =>
  s
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
