// The dashboard's only script besides HTMX. The Content-Security-Policy allows scripts from this origin
// alone, so nothing runs from inline attributes or <script> blocks: behaviour hangs off data- attributes.
(() => {
  // Live updates replace the grid's rows several times a second; a click listener on the document (not on
  // a row's link, which may be swapped out mid-click) opens the drawer every time.
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-drawer]');
    if (link) {
      event.preventDefault();
      htmx.ajax('GET', link.dataset.drawer, {target: '#drawer', swap: 'innerHTML'});
      return;
    }
    const copy = event.target.closest('button[data-copy]');
    if (copy) {
      navigator.clipboard.writeText(copy.dataset.copy).then(() => { copy.textContent = 'Copied'; });
      return;
    }
    if (event.target.closest('[data-close-drawer]')) {
      document.getElementById('drawer').innerHTML = '';
    }
  });
  // Capture phase: the page number must be set before HTMX, on the button itself, reads it for the request
  // (a live refresh racing with the click then asks for the same page).
  document.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-page]');
    if (button) document.getElementById('grid-page').value = button.dataset.page;
  }, true);
  document.addEventListener('change', (event) => {
    if (event.target.matches('select[data-autosubmit]')) event.target.form.submit();
  });
  // Match scores draw their bar from a CSS variable; inline style attributes are not allowed either.
  const scores = (root) => root.querySelectorAll('.score[data-score]').forEach((el) => {
    el.style.setProperty('--score', el.dataset.score);
  });
  document.addEventListener('DOMContentLoaded', () => scores(document));
  document.addEventListener('htmx:afterSettle', (event) => scores(event.target));
})();
